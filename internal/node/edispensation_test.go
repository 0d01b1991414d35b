package node_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/wssec"
)

// dispensation is one eDispensation a test pharmacist sends.
type dispensation struct {
	id, patient, presc, item, atc string
	quantity                      int
	strength                      ncpclient.Amount // the active ingredient's, per one unit; none when empty
}

// edRoot is the root of the test eDispensation ids: the attacks reuse
// another pharmacy's id exactly.
const edRoot = "2.16.17.710.790.1000.990.1.16"

func (d dispensation) uid() string { return edRoot + "^" + d.id }

// xdrSend submits (or discards) d over the wire from ph's country with a
// TRC for trcPatient, and returns the status and the first error.
func xdrSend(t *testing.T, g *gateway, ph *pharmacist, d dispensation, trcPatient string, discard bool) (bool, ncpclient.RegistryError) {
	t.Helper()
	pid := wssec.PatientID{Extension: d.patient, Root: ehdsi.OIDMatricule}
	doc := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: edRoot, Extension: d.id},
		Patient:    pid, PatientName: "X",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: d.presc},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: d.item},
		ProductCode:  "1", ProductName: "Product", ATC: d.atc, Quantity: d.quantity, Strength: d.strength,
		Pharmacist: "P", Pharmacy: "Pharmacy " + ph.cc, Country: ph.cc, Time: clock.Now(),
	})
	rep, err := ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXDR, Action: ehdsi.ActionXDR,
		Assertions: []*etree.Element{ph.hcp, ph.trc(trcPatient)},
		Body:       ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: discard, Patient: pid, DocumentUID: d.uid(), SubmissionSetID: "1.2.3", SourceID: "1.2.3", Document: doc})})
	if err != nil || rep.Fault != nil {
		t.Fatalf("XDR call: %v %+v", err, rep.Fault)
	}
	st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body)
	if len(errs) > 0 {
		return ncpclient.IsSuccess(st), errs[0]
	}
	return ncpclient.IsSuccess(st), ncpclient.RegistryError{}
}

func deliver(t *testing.T, g *gateway) outbox.Result {
	t.Helper()
	res, err := g.node.Dispatcher().RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestEDispensationIntegrity is the table of eDispensation refusals of
// issue 14, over the wire: each step's answer (Success or the eHDSI code),
// then what the national record and the audit trail hold.
func TestEDispensationIntegrity(t *testing.T) {
	g := start(t)
	fr := newPharmacist(t, "fr", "pharmacist")
	fr.cc = "FR"
	be := newPharmacist(t, "be", "pharmacist")
	be.cc = "BE"
	const (
		thomas  = "1971011007114" // p08: rx-0003 (omeprazole, 6), rx-0004 (salbutamol, 3 dispensations)
		nadia   = "1983030506626" // p07: rx-0001 (prednisolone, 1)
		pierre  = "1969042516300" // p17: consent withdrawn, rx-0023
		salbuta = "R03AC02"
	)
	edA := dispensation{id: "ed-A", patient: thomas, presc: "ep-0004", item: "rx-0004", atc: salbuta, quantity: 1}
	steps := []struct {
		name    string
		ph      *pharmacist
		d       dispensation
		trc     string
		discard bool
		want    ehdsi.Code // "" = Success
		after   func(t *testing.T)
	}{
		{"first acceptance", fr, edA, thomas, false, "", nil},
		{"discard by another country for another patient", be, dispensation{id: "ed-A", patient: nadia, presc: "ep-0001", item: "rx-0001", atc: "H02AB06", quantity: 1},
			nadia, true, ehdsi.ErrEDDiscardFailed, func(t *testing.T) {
				// Audited under the original dispensation's patient too.
				_, log := accessLog(t, g, thomas)
				found := false
				for _, a := range log.Accesses {
					found = found || (a.Event == audit.EventDispensationDiscard && a.Country == "BE" && a.ErrorCode == string(ehdsi.ErrEDDiscardFailed))
				}
				if !found {
					t.Fatalf("the refused discard is not in the original patient's access log: %+v", log.Accesses)
				}
			}},
		{"discard by another country for the same patient", be, dispensation{id: "ed-A", patient: thomas, presc: "ep-0004", item: "rx-0004", atc: salbuta, quantity: 1},
			thomas, true, ehdsi.ErrEDDiscardFailed, nil},
		{"the same id for another patient", fr, dispensation{id: "ed-A", patient: nadia, presc: "ep-0001", item: "rx-0001", atc: "H02AB06", quantity: 1},
			nadia, false, ehdsi.ErrEDGeneric, nil},
		{"the same id with other content", fr, dispensation{id: "ed-A", patient: thomas, presc: "ep-0004", item: "rx-0004", atc: salbuta, quantity: 2},
			thomas, false, ehdsi.ErrEDGeneric, nil},
		{"resend", fr, edA, thomas, false, "", func(t *testing.T) {
			deliver(t, g)
			if n := effects(t, g.fhir, "rx-0004"); n != 1 {
				t.Fatalf("national effects = %d, want 1", n)
			}
		}},
		{"discard by the owner", fr, edA, thomas, true, "", func(t *testing.T) {
			deliver(t, g)
			if n := effects(t, g.fhir, "rx-0004"); n != 0 {
				t.Fatalf("national effects after the discard = %d, want 0", n)
			}
		}},
		{"resubmit after discard", fr, edA, thomas, false, ehdsi.ErrEDGeneric, nil},
		{"no consent", fr, dispensation{id: "ed-C1", patient: pierre, presc: "ep-0023", item: "rx-0023", atc: "C10AA05", quantity: 1},
			pierre, false, ehdsi.ErrNoConsent, nil},
		{"no consent, no such prescription: the same answer", fr, dispensation{id: "ed-C2", patient: pierre, presc: "ep-9999", item: "rx-9999", atc: "C10AA05", quantity: 1},
			pierre, false, ehdsi.ErrNoConsent, nil},
		{"levodopa for an omeprazole prescription", fr, dispensation{id: "ed-P", patient: thomas, presc: "ep-0003", item: "rx-0003", atc: "N04BA02", quantity: 1},
			thomas, false, ehdsi.ErrEDPrescriptionNotIdentifiable, nil},
		// rx-0003 is omeprazole 20 mg per capsule.
		{"omeprazole 40 mg for a 20 mg prescription", fr, dispensation{id: "ed-S40", patient: thomas, presc: "ep-0003", item: "rx-0003", atc: "A02BC01", quantity: 1,
			strength: ncpclient.Amount{Value: "40", Unit: "mg"}}, thomas, false, ehdsi.ErrEDSubstitutionNotAllowed, nil},
		{"omeprazole 20000 µg: the prescribed strength", fr, dispensation{id: "ed-S20", patient: thomas, presc: "ep-0003", item: "rx-0003", atc: "A02BC01", quantity: 1,
			strength: ncpclient.Amount{Value: "20000", Unit: "ug"}}, thomas, false, "", func(t *testing.T) {
			if res := deliver(t, g); res.Delivered != 1 || effects(t, g.fhir, "rx-0003") != 1 {
				t.Fatalf("delivery %+v, want the 20 mg dispensation only", res)
			}
		}},
		{"more packages than prescribed", fr, dispensation{id: "ed-Q", patient: thomas, presc: "ep-0003", item: "rx-0003", atc: "A02BC01", quantity: 5},
			thomas, false, ehdsi.ErrEDNotDispensable, nil},
	}
	for _, st := range steps {
		ok, re := xdrSend(t, g, st.ph, st.d, st.trc, st.discard)
		if st.want == "" && !ok || st.want != "" && (ok || re.Code != string(st.want)) {
			t.Fatalf("%s: success=%v %+v, want %q", st.name, ok, re, st.want)
		}
		if st.after != nil {
			st.after(t)
		}
	}
	// A contradictory item reference: Thomas's prescription document
	// ep-0004 with the item id of Nadia's rx-0001, or of his own other
	// prescription rx-0003. Refused like an unknown prescription, in the
	// same words, and nothing recorded against rx-0004.
	_, unknown := xdrSend(t, g, fr, dispensation{id: "ed-X0", patient: thomas, presc: "ep-9999", item: "rx-9999", atc: salbuta, quantity: 1}, thomas, false)
	for _, d := range []dispensation{
		{id: "ed-X1", patient: thomas, presc: "ep-0004", item: "rx-0001", atc: salbuta, quantity: 1},
		{id: "ed-X2", patient: thomas, presc: "ep-0004", item: "rx-0003", atc: salbuta, quantity: 1},
		{id: "ed-X3", patient: thomas, presc: "ep-0003", item: "rx-0004", atc: "A02BC01", quantity: 1},
	} {
		ok, re := xdrSend(t, g, fr, d, thomas, false)
		if ok || re.Code != string(ehdsi.ErrEPNotMatching) || re != unknown {
			t.Fatalf("%s (document %s, item %s): success=%v %+v, want %+v (as an unknown prescription)", d.id, d.presc, d.item, ok, re, unknown)
		}
		if _, err := g.node.Outbox.Get(context.Background(), d.uid()); err == nil {
			t.Fatalf("%s: recorded in the outbox", d.id)
		}
	}
	// Reservation: rx-0004 allows 3 dispensations (ed-A's was discarded):
	// 3 acceptances, then a refusal, before any delivery.
	for i := 1; i <= 4; i++ {
		d := edA
		d.id = fmt.Sprintf("ed-R%d", i)
		ok, re := xdrSend(t, g, fr, d, thomas, false)
		if want := i <= 3; ok != want || (!want && re.Code != string(ehdsi.ErrEPAlreadyDispensed)) {
			t.Fatalf("dispensation %d of 3: success=%v %+v", i, ok, re)
		}
	}
	if res := deliver(t, g); res.Delivered != 3 || res.Dead != 0 {
		t.Fatalf("delivery %+v, want 3 delivered, none dead", res)
	}
	if n := effects(t, g.fhir, "rx-0004"); n != 3 {
		t.Fatalf("national effects = %d, want 3", n)
	}
}

// TestNationalDownFailsFast: once the national record failed three
// times, requests are answered ERROR_ED_REGISTRY_NOT_AVAILABLE without
// calling it (the breaker; the clock is frozen, so it stays open), and an
// eDispensation acknowledged before the outage is kept pending, not dead.
func TestNationalDownFailsFast(t *testing.T) {
	t0 := clock.Now()
	g := startOpts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, func(o *node.Options) {
		o.Now = func() time.Time { return t0 }
	})
	fr := newPharmacist(t, "fr", "pharmacist")
	fr.cc = "FR"
	d := dispensation{id: "ed-D", patient: "1971011007114", presc: "ep-0003", item: "rx-0003", atc: "A02BC01", quantity: 1}
	if ok, re := xdrSend(t, g, fr, d, d.patient, false); !ok {
		t.Fatalf("before the outage: %+v", re)
	}
	g.backend.SetFaults(demo.Faults{Unavailable: true})
	if res := deliver(t, g); res.Retried != 1 || res.Dead != 0 {
		t.Fatalf("delivery during the outage %+v, want retried", res)
	}
	for i := 0; i < 3; i++ {
		d.id = fmt.Sprintf("ed-D%d", i)
		if ok, re := xdrSend(t, g, fr, d, d.patient, false); ok || re.Code != string(ehdsi.ErrEDRegistryNotAvailable) {
			t.Fatalf("during the outage: success=%v %+v", ok, re)
		}
	}
	g.backend.SetFaults(demo.Faults{}) // back, but the breaker does not know yet
	d.id = "ed-D-open"
	if ok, re := xdrSend(t, g, fr, d, d.patient, false); ok || re.Code != string(ehdsi.ErrEDRegistryNotAvailable) {
		t.Fatalf("breaker open: success=%v %+v, want %s without a national call", ok, re, ehdsi.ErrEDRegistryNotAvailable)
	}
	m, err := g.node.Outbox.Get(context.Background(), edRoot+"^ed-D")
	if err != nil || m.State != outbox.StatePending {
		t.Fatalf("the acknowledged dispensation: %+v %v, want pending", m, err)
	}
}
