package xcpd_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xcpd"
)

// fakePatients is an in-process national registry.
type fakePatients struct {
	patients []national.Patient
	consent  map[string]bool
	down     bool
}

func (f *fakePatients) FindPatients(ctx context.Context, q national.PatientQuery) ([]national.Patient, error) {
	if f.down {
		return nil, national.ErrUnavailable
	}
	var out []national.Patient
	for _, p := range f.patients {
		switch {
		case q.Matricule != "":
			if p.Matricule == q.Matricule || p.LegacyMatricule == q.Matricule {
				out = append(out, p)
			}
		case strings.EqualFold(p.Family, q.Family) && p.BirthDate == q.BirthDate:
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePatients) Consent(ctx context.Context, m string) (national.Consent, error) {
	return national.Consent{CrossBorder: f.consent[m]}, nil
}

type memAudit struct {
	mu     sync.Mutex
	events []audit.Event
}

func (m *memAudit) Record(ctx context.Context, e audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memAudit) last() audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events[len(m.events)-1]
}

var registry = &fakePatients{
	patients: []national.Patient{
		{Matricule: "1990010112385", Given: []string{"Anne"}, Family: "Schmit", BirthDate: "1990-01-01", Gender: "female",
			Address: national.Address{Lines: []string{"12 rue de la Gare"}, City: "Thionville", PostalCode: "57100", Country: "FR"}},
		{Matricule: "1985031200182", LegacyMatricule: "", Given: []string{"Paul"}, Family: "Muller", BirthDate: "1985-03-12", Gender: "male"},
		{Matricule: "1992070712347", Given: []string{"Marie"}, Family: "Muller", BirthDate: "1985-03-12", Gender: "female"},
		{Matricule: "1960112904551", Given: []string{"Jos"}, Family: "Thill", BirthDate: "1960-11-29", Gender: "male"},
	},
	consent: map[string]bool{"1990010112385": true, "1985031200182": true, "1992070712347": true},
}

func setup(t *testing.T) (*ncpclient.Client, string, *memAudit, *fakePatients) {
	t.Helper()
	reg := *registry
	aud := &memAudit{}
	cfg := &gateway.Config{
		TLSTrust:   testkit.Trust(t),
		Assertions: &wssec.Verifier{Trust: testkit.Trust(t)},
		Audit:      aud,
		Self:       audit.NCP{Country: "LU", Host: "luxncp"},
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	svc := &xcpd.Service{Patients: &reg, HomeCommunityID: ehdsi.HomeCommunityLU}
	ep := &gateway.Endpoint{Name: "XCPD", Cfg: cfg, Ops: []gateway.Operation{svc.Operation()}}
	srv := testkit.Server(t, ep)
	return testkit.Client(t, "fr"), srv.URL + ehdsi.PathXCPD, aud, &reg
}

func request(t *testing.T, cc string, q ncpclient.XCPDQuery, mod func(*ncpclient.Professional)) ncpclient.Request {
	t.Helper()
	id := testkit.Identity(t, cc, nil)
	p := ncpclient.DemoProfessional(cc, "pharmacist")
	if mod != nil {
		mod(&p)
	}
	hcp, err := id.HCP(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if q.PatientRoot == "" && q.PatientID != "" {
		q.PatientRoot = ehdsi.OIDMatricule
	}
	q.SenderHCID, q.ReceiverHCID = "2.16.17.710.790.1000.990.1", ehdsi.HomeCommunityLU
	return ncpclient.Request{Action: ehdsi.ActionXCPD, Body: ncpclient.XCPDBody(q), Assertions: []*etree.Element{hcp}}
}

func ackCode(env *etree.Element) string {
	if d := env.FindElement(".//acknowledgementDetail/code"); d != nil {
		return d.SelectAttrValue("code", "")
	}
	return ""
}

func TestXCPDOutcomes(t *testing.T) {
	client, url, aud, _ := setup(t)
	cases := []struct {
		name     string
		q        ncpclient.XCPDQuery
		code     ehdsi.Code // "" = match
		response string     // queryResponseCode
		outcome  audit.Outcome
	}{
		{"match 13 digits", ncpclient.XCPDQuery{PatientID: "1990010112385"}, "", "OK", audit.OutcomeSuccess},
		{"match with demographics", ncpclient.XCPDQuery{PatientID: "1990010112385", Family: "Schmit", BirthDate: "1990-01-01"}, "", "OK", audit.OutcomeSuccess},
		{"id and wrong demographics", ncpclient.XCPDQuery{PatientID: "1990010112385", Family: "Weber", BirthDate: "1990-01-01"}, ehdsi.ErrPINoMatch, "NF", audit.OutcomeMinorFailure},
		{"match by demographics", ncpclient.XCPDQuery{Family: "Schmit", BirthDate: "1990-01-01"}, "", "OK", audit.OutcomeSuccess},
		{"no match", ncpclient.XCPDQuery{PatientID: "2001010100111"}, ehdsi.ErrPINoMatch, "NF", audit.OutcomeMinorFailure},
		{"multiple matches", ncpclient.XCPDQuery{Family: "Muller", BirthDate: "1985-03-12"}, ehdsi.ErrPIMultipleMatches, "AE", audit.OutcomeMinorFailure},
		{"no consent", ncpclient.XCPDQuery{PatientID: "1960112904551"}, ehdsi.WarnPINoConsent, "AE", audit.OutcomeMinorFailure},
		{"wrong check digit", ncpclient.XCPDQuery{PatientID: "1990010112384"}, ehdsi.ErrPIIncorrectFormatting, "AE", audit.OutcomeMinorFailure},
		{"malformed id", ncpclient.XCPDQuery{PatientID: "199001011"}, ehdsi.ErrPIIncorrectFormatting, "AE", audit.OutcomeMinorFailure},
		{"letters in id", ncpclient.XCPDQuery{PatientID: "19900101ABC85"}, ehdsi.ErrPIIncorrectFormatting, "AE", audit.OutcomeMinorFailure},
		{"foreign id only", ncpclient.XCPDQuery{PatientID: "0410009234", PatientRoot: "1.2.208.176.1.2"}, ehdsi.ErrPIIncorrectFormatting, "AE", audit.OutcomeMinorFailure},
		{"nothing to search", ncpclient.XCPDQuery{Country: "LU"}, ehdsi.ErrPIMissingRequiredFields, "AE", audit.OutcomeMinorFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := client.Call(context.Background(), withURL(request(t, "fr", tc.q, nil), url))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != http.StatusOK || rep.Fault != nil || rep.Env == nil {
				t.Fatalf("status %d fault %+v\n%s", rep.Status, rep.Fault, rep.Raw)
			}
			if got := ackCode(rep.Env.Body); got != string(tc.code) {
				t.Errorf("ack detail code = %q, want %q", got, tc.code)
			}
			if got := rep.Env.Body.FindElement(".//queryAck/queryResponseCode").SelectAttrValue("code", ""); got != tc.response {
				t.Errorf("queryResponseCode = %s, want %s", got, tc.response)
			}
			hasPatient := rep.Env.Body.FindElement(".//patientPerson") != nil
			if hasPatient != (tc.code == "") {
				t.Errorf("patient in response = %v", hasPatient)
			}
			ev := aud.last()
			if ev.Type != audit.EventIdentification || ev.Outcome != tc.outcome || ev.ErrorCode != string(tc.code) {
				t.Errorf("audit = %s %v %q, want outcome %v code %q", ev.Type, ev.Outcome, ev.ErrorCode, tc.outcome, tc.code)
			}
			if ev.Consumer.Country != "FR" || ev.HCP.RoleCode != "2262" || ev.RequestMessageID == "" || ev.ResponseMessageID == "" {
				t.Errorf("audit participants = %+v", ev)
			}
			if ev.ResponseMessageID != rep.Env.MessageID {
				t.Errorf("audit response id %s, response MessageID %s", ev.ResponseMessageID, rep.Env.MessageID)
			}
			if rep.Env.Action != ehdsi.ActionXCPDResponse {
				t.Errorf("action %s", rep.Env.Action)
			}
		})
	}
}

func withURL(r ncpclient.Request, url string) ncpclient.Request { r.URL = url; return r }

func TestXCPDRegistryDown(t *testing.T) {
	client, url, _, reg := setup(t)
	reg.down = true
	rep, err := client.Call(context.Background(), withURL(request(t, "fr", ncpclient.XCPDQuery{PatientID: "1990010112385"}, nil), url))
	if err != nil {
		t.Fatal(err)
	}
	if got := ackCode(rep.Env.Body); got != string(ehdsi.ErrPIRegistryNotAvailable) {
		t.Errorf("code %q", got)
	}
}

// TestXCPDInsufficientRights: a missing PRD-006 is answered inside the
// XCPD response as an InsufficientRights detected issue (IHE code system
// 1.3.6.1.4.1.12559.11.10.1.3.2.2.1, eHDSI's XCPD code system, as OpenNCP's
// EhdsiXcpdErrorCode and the eHDSI DE mock sample), not as a SOAP Fault.
func TestXCPDInsufficientRights(t *testing.T) {
	client, url, _, _ := setup(t)
	rep, err := client.Call(context.Background(), withURL(request(t, "fr", ncpclient.XCPDQuery{PatientID: "1990010112385"},
		func(p *ncpclient.Professional) { p.Permissions = []string{"PRD-004"} }), url))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != 200 || rep.Fault != nil || ackCode(rep.Env.Body) != string(ehdsi.ErrInsufficientRights) {
		t.Fatalf("status %d fault %+v code %q\n%s", rep.Status, rep.Fault, ackCode(rep.Env.Body), rep.Raw)
	}
	dim := rep.Env.Body.FindElement(".//detectedIssueManagement/code")
	if dim == nil || dim.SelectAttrValue("code", "") != "InsufficientRights" || dim.SelectAttrValue("codeSystem", "") != "1.3.6.1.4.1.12559.11.10.1.3.2.2.1" {
		t.Errorf("detected issue %v", dim)
	}
}

// TestXCPDAnswerNotAvailableCodeSystem: AnswerNotAvailable is IHE's code,
// in IHE's code system.
func TestXCPDAnswerNotAvailableCodeSystem(t *testing.T) {
	client, url, _, reg := setup(t)
	reg.down = true
	rep, err := client.Call(context.Background(), withURL(request(t, "fr", ncpclient.XCPDQuery{PatientID: "1990010112385"}, nil), url))
	if err != nil {
		t.Fatal(err)
	}
	dim := rep.Env.Body.FindElement(".//detectedIssueManagement/code")
	if dim == nil || dim.SelectAttrValue("code", "") != "AnswerNotAvailable" || dim.SelectAttrValue("codeSystem", "") != "1.3.6.1.4.1.19376.1.2.27.3" {
		t.Errorf("detected issue %v", dim)
	}
}

func TestXCPDSecurityFaults(t *testing.T) {
	_, url, aud, _ := setup(t)
	good := ncpclient.XCPDQuery{PatientID: "1990010112385"}
	cases := []struct {
		name   string
		client *ncpclient.Client
		req    ncpclient.Request
		status int
		code   ehdsi.Code
	}{
		{"no client certificate", testkit.Client(t, ""), request(t, "fr", good, nil), 400, ehdsi.ErrSecGeneric},
		{"no assertion", testkit.Client(t, "fr"), func() ncpclient.Request { r := request(t, "fr", good, nil); r.Assertions = nil; return r }(), 400, ehdsi.ErrHPIAuthenticationNotReceived},
		{"TLS country differs from signer", testkit.Client(t, "fr"), request(t, "de", good, nil), 400, ehdsi.ErrSecDataIntegrityNotEnsured},
		{"wrong action", testkit.Client(t, "fr"), func() ncpclient.Request { r := request(t, "fr", good, nil); r.Action = ehdsi.ActionXCAQuery; return r }(), 400, ehdsi.ErrGeneric},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := tc.client.Call(context.Background(), withURL(tc.req, url))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != tc.status || rep.Fault == nil || rep.Fault.Code != tc.code {
				t.Fatalf("status %d fault %+v, want %d %s\n%s", rep.Status, rep.Fault, tc.status, tc.code, rep.Raw)
			}
			if strings.Contains(string(rep.Raw), "goroutine") || strings.Contains(string(rep.Raw), ".go:") {
				t.Error("fault leaks a stack trace")
			}
			ev := aud.last()
			if ev.Outcome != audit.OutcomeSeriousFailure || ev.ErrorCode != string(tc.code) {
				t.Errorf("audit outcome %v code %q", ev.Outcome, ev.ErrorCode)
			}
		})
	}
}

// TestXCPDResponseSchema validates response bodies with the HL7 v3 XCPD
// schema, offline, with xmllint.
func TestXCPDResponseSchema(t *testing.T) {
	client, url, _, _ := setup(t)
	xsd := testutil.Shared(t, "reference", "wire", "xsd", "xcpd-hl7v3", "schema", "PRPA_IN201306UV02.xsd")
	dir := t.TempDir()
	var files []string
	for i, q := range []ncpclient.XCPDQuery{{PatientID: "1990010112385"}, {PatientID: "2001010100111"}, {PatientID: "1960112904551"}} {
		rep, err := client.Call(context.Background(), withURL(request(t, "fr", q, nil), url))
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		doc.SetRoot(rep.Env.Body.Copy())
		f := filepath.Join(dir, "resp"+string(rune('0'+i))+".xml")
		if err := doc.WriteToFile(f); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// The request we send is schema-valid too.
	reqDoc := etree.NewDocument()
	reqDoc.SetRoot(ncpclient.XCPDBody(ncpclient.XCPDQuery{PatientID: "1990010112385", PatientRoot: ehdsi.OIDMatricule, Family: "Schmit", Given: "Anne", BirthDate: "1990-01-01", Gender: "F", Country: "LU", SenderHCID: "1.2.3", ReceiverHCID: "1.2.4"}))
	reqFile := filepath.Join(dir, "req.xml")
	reqDoc.WriteToFile(reqFile)
	if out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", xsd, files[0], files[1], files[2]).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	reqXSD := strings.Replace(xsd, "PRPA_IN201306UV02", "PRPA_IN201305UV02", 1)
	if out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", reqXSD, reqFile).CombinedOutput(); err != nil {
		t.Fatalf("xmllint request: %v\n%s", err, out)
	}
	_ = os.Remove
}
