package xca_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
)

const patientExt = "1990010112385"

var patient = wssec.PatientID{Extension: patientExt, Root: ehdsi.OIDMatricule}

type fakeProvider struct{}

func (fakeProvider) List(ctx context.Context, q xca.Query) (xca.Listing, error) {
	if q.Patient.Extension == "1960112904551" {
		return xca.Listing{}, dialect.Fault(dialect.NoConsent, "no consent", nil)
	}
	l3 := xca.Entry{UniqueID: "1.2.3^ep-1.L3", RepositoryUniqueID: "1.2.3", HomeCommunityID: ehdsi.HomeCommunityLU, Patient: q.Patient,
		ClassCode: ehdsi.ClassEP, Level: xca.L3, Description: "Amlodipine 5 mg tablet", Created: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	l1 := l3
	l1.UniqueID, l1.Level, l1.TransformOf = "1.2.3^ep-1.L1", xca.L1, l3.UniqueID
	return xca.Listing{Entries: []xca.Entry{l3, l1}, Notes: []*ehdsi.Fault{{Kind: ehdsi.KindApplication, Code: ehdsi.ErrEDNotDispensable, Public: "ep-2: expired on 2026-10-01"}}}, nil
}

// retrieved counts the provider's Retrieve calls (national data touched).
var retrieved atomic.Int64

func (fakeProvider) ClassOf(u string) string {
	if strings.HasPrefix(u, "1.2.3^ep-") {
		return ehdsi.ClassEP
	}
	return ""
}

func (fakeProvider) Retrieve(ctx context.Context, r xca.RetrieveRequest) (xca.Document, error) {
	retrieved.Add(1)
	if r.UniqueID != "1.2.3^ep-1.L3" || r.Patient != patient {
		return xca.Document{}, ehdsi.App(ehdsi.ErrGenericDocumentMissing, "no such document", nil)
	}
	return xca.Document{UniqueID: r.UniqueID, RepositoryUniqueID: "1.2.3", MimeType: "text/xml", ClassCode: ehdsi.ClassEP, Data: []byte("<ClinicalDocument/>")}, nil
}

type memAudit struct {
	mu     sync.Mutex
	events []audit.Event
}

func (m *memAudit) Record(ctx context.Context, e audit.Event) error {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
	return nil
}

// byType returns the last event of a type (the records of one transaction
// are written concurrently).
func (m *memAudit) byType(t audit.EventType) *audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.events) - 1; i >= 0; i-- {
		if m.events[i].Type == t {
			return &m.events[i]
		}
	}
	return nil
}

func setup(t *testing.T) (string, *memAudit) {
	aud := &memAudit{}
	cfg := &gateway.Config{TLSTrust: testkit.Trust(t), Assertions: &wssec.Verifier{Trust: testkit.Trust(t)}, Audit: aud,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	svc := &xca.Service{Provider: fakeProvider{}, HomeCommunityID: ehdsi.HomeCommunityLU}
	srv := testkit.Server(t, &gateway.Endpoint{Name: "XCA", Cfg: cfg, Ops: svc.Operations()})
	return srv.URL + ehdsi.PathXCA, aud
}

func assertions(t *testing.T, cc string, trcPatient wssec.PatientID, perms []string) []*etree.Element {
	id := testkit.Identity(t, cc, nil)
	p := ncpclient.DemoProfessional(cc, "pharmacist")
	p.Permissions = perms
	hcp, err := id.HCP(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	trc, err := id.TRC(hcp, trcPatient, "TREATMENT", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return []*etree.Element{hcp, trc}
}

func TestQuery(t *testing.T) {
	url, aud := setup(t)
	c := testkit.Client(t, "fr")
	rep, err := c.Call(context.Background(), ncpclient.Request{URL: url, Action: ehdsi.ActionXCAQuery,
		Body: ncpclient.XCAQueryBody(patient, ehdsi.ClassEP), Assertions: assertions(t, "fr", patient, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fault != nil {
		t.Fatalf("fault %+v", rep.Fault)
	}
	status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
	// Beside listed entries a note is a Warning with Success: an OpenNCP
	// client drops a PartialSuccess list or one with an Error entry.
	if status != xca.ResponseSuccess || len(docs) != 2 || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrEDNotDispensable) ||
		errs[0].Severity != string(ehdsi.SeverityWarning) {
		t.Fatalf("status %s docs %d errs %+v", status, len(docs), errs)
	}
	if docs[1].TransformOf != docs[0].UniqueID || !docs[1].L1 || docs[0].L1 || docs[0].Description != "Amlodipine 5 mg tablet" {
		t.Errorf("docs = %+v", docs)
	}
	if len(aud.events) != 2 || aud.byType(audit.EventEPList) == nil || aud.byType(audit.EventTRCAssertion) == nil {
		t.Errorf("audit events %+v", aud.events)
	}
}

func TestQueryFaults(t *testing.T) {
	url, _ := setup(t)
	other := wssec.PatientID{Extension: "1985031200182", Root: ehdsi.OIDMatricule}
	substring := wssec.PatientID{Extension: "199001011238", Root: ehdsi.OIDMatricule}
	cases := []struct {
		name  string
		as    []*etree.Element
		query wssec.PatientID
		class string
		code  ehdsi.Code
	}{
		{"no TRC", assertions(t, "fr", patient, nil)[:1], patient, ehdsi.ClassEP, ehdsi.ErrNotValidTRCAssertion},
	}
	c := testkit.Client(t, "fr")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := c.Call(context.Background(), ncpclient.Request{URL: url, Action: ehdsi.ActionXCAQuery,
				Body: ncpclient.XCAQueryBody(tc.query, tc.class), Assertions: tc.as})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Fault == nil || rep.Fault.Code != tc.code {
				t.Fatalf("fault = %+v, want %s\n%s", rep.Fault, tc.code, rep.Raw)
			}
		})
	}
	// Refusals travel in the RegistryErrorList with Failure, as OpenNCP's
	// XCAServiceImpl answers them, not as SOAP Faults.
	inBand := []struct {
		name  string
		as    []*etree.Element
		class string
		code  ehdsi.Code
	}{
		{"TRC for another patient", assertions(t, "fr", other, nil), ehdsi.ClassEP, ehdsi.ErrUnknownPatientIdentifier},
		{"TRC patient is a prefix of the queried one", assertions(t, "fr", substring, nil), ehdsi.ClassEP, ehdsi.ErrUnknownPatientIdentifier},
		{"TRC with another root", assertions(t, "fr", wssec.PatientID{Extension: patientExt, Root: "1.2.3"}, nil), ehdsi.ClassEP, ehdsi.ErrUnknownPatientIdentifier},
		{"missing eP permission", assertions(t, "fr", patient, []string{"PRD-006", "PRD-003"}), ehdsi.ClassEP, ehdsi.ErrInsufficientRights},
		{"eP needs PRD-004 and PRD-010", assertions(t, "fr", patient, []string{"PRD-006", "PRD-010"}), ehdsi.ClassEP, ehdsi.ErrInsufficientRights},
		{"PS needs all of PRD-003/005/010/016", assertions(t, "fr", patient, []string{"PRD-006", "PRD-003", "PRD-005"}), ehdsi.ClassPS, ehdsi.ErrInsufficientRights},
		{"unknown class", assertions(t, "fr", patient, nil), "12345-6", ehdsi.ErrGenericServiceSignifier},
	}
	for _, tc := range inBand {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := c.Call(context.Background(), ncpclient.Request{URL: url, Action: ehdsi.ActionXCAQuery,
				Body: ncpclient.XCAQueryBody(patient, tc.class), Assertions: tc.as})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Fault != nil || rep.Status != 200 {
				t.Fatalf("status %d fault %+v, want the refusal inside the response\n%s", rep.Status, rep.Fault, rep.Raw)
			}
			status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
			if status != xca.ResponseFailure || len(docs) != 0 || len(errs) != 1 || errs[0].Code != string(tc.code) ||
				errs[0].Severity != string(ehdsi.SeverityError) {
				t.Errorf("status %s docs %d errs %+v, want Failure with %s", status, len(docs), errs, tc.code)
			}
		})
	}
	// Consent withdrawn travels as a RegistryError, not a fault:
	// ERROR_PS_NO_CONSENT for every class, as OpenNCP.
	noConsent := wssec.PatientID{Extension: "1960112904551", Root: ehdsi.OIDMatricule}
	rep, err := c.Call(context.Background(), ncpclient.Request{URL: url, Action: ehdsi.ActionXCAQuery,
		Body: ncpclient.XCAQueryBody(noConsent, ehdsi.ClassEP), Assertions: assertions(t, "fr", noConsent, nil)})
	if err != nil {
		t.Fatal(err)
	}
	status, _, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
	if status != xca.ResponseFailure || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrPSNoConsent) {
		t.Errorf("no consent: status %s errs %+v", status, errs)
	}
}

// TestRetrievePolicyBeforeNationalData: a retrieve the caller has no
// permission for is refused before the provider runs.
func TestRetrievePolicyBeforeNationalData(t *testing.T) {
	url, _ := setup(t)
	c := testkit.Client(t, "fr")
	before := retrieved.Load()
	rep, err := c.Call(context.Background(), ncpclient.Request{URL: url, Action: ehdsi.ActionXCARetrieve,
		Body:       ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3^ep-1.L3"}),
		Assertions: assertions(t, "fr", patient, []string{ehdsi.PermPRD003, ehdsi.PermPRD010})})
	if err != nil {
		t.Fatal(err)
	}
	_, docs, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
	if err != nil || len(docs) != 0 || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrInsufficientRights) {
		t.Fatalf("docs %d errs %+v err %v fault %+v", len(docs), errs, err, rep.Fault)
	}
	if n := retrieved.Load() - before; n != 0 {
		t.Errorf("the provider ran %d times for a refused retrieve", n)
	}
}

func TestRetrieveInlineAndMTOM(t *testing.T) {
	url, aud := setup(t)
	c := testkit.Client(t, "fr")
	for _, mtom := range []bool{false, true} {
		rep, err := c.Call(context.Background(), ncpclient.Request{URL: url, Action: ehdsi.ActionXCARetrieve, MTOM: mtom,
			Body:       ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3^ep-1.L3"}, ncpclient.DocRef{RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3^nope"}),
			Assertions: assertions(t, "fr", patient, nil)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Fault != nil {
			t.Fatalf("fault %+v", rep.Fault)
		}
		if got := strings.Contains(rep.Header.Get("Content-Type"), "multipart/related"); got != mtom {
			t.Errorf("mtom=%v: content type %s", mtom, rep.Header.Get("Content-Type"))
		}
		status, docs, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		if err != nil {
			t.Fatal(err)
		}
		if status != xca.ResponsePartial || len(docs) != 1 || string(docs[0].Data) != "<ClinicalDocument/>" || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrGenericDocumentMissing) {
			t.Errorf("mtom=%v: status %s docs %+v errs %+v", mtom, status, docs, errs)
		}
	}
	if ev := aud.byType(audit.EventEPRetrieve); ev == nil || ev.Outcome != audit.OutcomeMinorFailure {
		t.Errorf("audit %+v", ev)
	}
}
