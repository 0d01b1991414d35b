package node_test

import (
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestClosedPrescriptionAbroad: a foreign pharmacist lists the
// ePrescriptions of p27 (ep-0009 expired, ep-0010 cancelled, ep-0011
// valid). The expired one is listed, L3 and L1, with OpenNCP's closed flag
// and can be read; the valid one is open; the cancelled one is withheld
// with WARNING_EP_GENERIC; a dispensation against the closed one is refused
// in the RegistryErrorList as before.
func TestClosedPrescriptionAbroad(t *testing.T) {
	g := start(t)
	ph, pid, trc, status, docs, errs := listEPOf(t, g, "1987031419966")
	if !ncpclient.IsSuccess(status) {
		t.Fatalf("eP list: %s %+v", status, errs)
	}
	state := map[string]bool{}
	var closed []ncpclient.DocRef
	for _, d := range docs {
		base, _, _ := strings.Cut(d.UniqueID[strings.IndexByte(d.UniqueID, '^')+1:], ".")
		key := base + map[bool]string{true: ".L1", false: ".L3"}[d.L1]
		state[key] = d.Dispensable
		if base == "ep-0009" {
			closed = append(closed, ncpclient.DocRef{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID})
		}
	}
	for key, open := range map[string]bool{"ep-0009.L3": false, "ep-0009.L1": false, "ep-0011.L3": true, "ep-0011.L1": true} {
		if got, listed := state[key]; !listed || got != open {
			t.Errorf("%s: listed %v, dispensable %v; want listed, dispensable %v (%v)", key, listed, got, open, state)
		}
	}
	if _, listed := state["ep-0010.L3"]; listed {
		t.Error("the cancelled ep-0010 is listed")
	}
	if len(errs) != 1 || errs[0].Code != string(ehdsi.WarningEPGeneric) || !strings.HasSuffix(errs[0].Severity, ":Warning") {
		t.Errorf("errors %+v, want one WARNING_EP_GENERIC warning (the cancelled ep-0010)", errs)
	}
	if len(closed) != 2 {
		t.Fatalf("ep-0009 listed %d times, want L3 and L1", len(closed))
	}
	// Read-only: the closed prescription can be retrieved …
	rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(closed...), false, ph.hcp, trc)
	if st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body); err != nil || !ncpclient.IsSuccess(st) || len(got) != 2 {
		t.Fatalf("retrieve closed ep-0009: %s %d %+v %v", st, len(got), errs, err)
	}
	// … and not dispensed.
	ed := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: "ed-closed-1"},
		Patient:    pid, PatientGiven: "Sofia", PatientName: "Marques",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0009"},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0009"},
		ProductCode:  "1", ProductName: "Ramipril 5 mg", Quantity: 1, Pharmacist: "Claire Martin", Pharmacy: "Pharmacie du Centre", Country: "FR", Time: clock.Now(),
	})
	rep = ph.call(g.url+ehdsi.PathXDR, ehdsi.ActionXDR, ncpclient.XDRBody(ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^ed-closed-1",
		SubmissionSetID: "2.16.17.710.790.1000.990.1.99.2", SourceID: "2.16.17.710.790.1000.990.1", Document: ed}), false, ph.hcp, trc)
	if rep.Fault != nil {
		t.Fatalf("fault %+v", rep.Fault)
	}
	if st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body); ncpclient.IsSuccess(st) || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrEDNotDispensable) {
		t.Fatalf("dispensation of the closed ep-0009: %s %+v, want %s", st, errs, ehdsi.ErrEDNotDispensable)
	}
}
