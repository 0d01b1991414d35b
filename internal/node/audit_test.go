package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// accessLog asks the gateway's access-log endpoint (Luxembourg client
// certificate, the data-protection officer's token) for the patient named
// in form id.
func accessLog(t *testing.T, g *gateway, id string) (int, audit.AccessLog) {
	t.Helper()
	return accessLogAs(t, g, id, g.token(t, "supervisor", "lu-dpo-0001"), "")
}

// accessLogAs asks for id's access log with the bearer token tok ("": none)
// in lang ("": the default).
func accessLogAs(t *testing.T, g *gateway, id, tok, lang string) (int, audit.AccessLog) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.url+"/api/v1/audit/patients/"+url.PathEscape(id), nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	res, err := testkit.Client(t, "lu").HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var log audit.AccessLog
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&log); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, log
}

// TestAccessLogEveryForm retrieves one patient's Patient Summary seven
// ways — the 13-digit matricule plain and with spaces, dots, dashes,
// slashes and tabs, and the legacy 11-digit id — and finds all seven
// retrievals in the patient's access log asked for in any of those forms,
// over HTTP and through the CLI's reader; every record names the canonical
// matricule and keeps the form sent. A legacy-only patient gets a log.
// Every audit message written validates against the eHDSI audit XSD.
func TestAccessLogEveryForm(t *testing.T) {
	g := start(t)
	ph := newPharmacist(t, "be", "physician")
	const canonical, legacy = "1958041200856", "19580412125" // p02 SCHMIT
	forms := []string{canonical, "1958 0412 00856", "1958.0412.00856", "1958-0412-00856", "1958/0412/00856", "1958\t0412\t00856", legacy}
	for _, form := range forms {
		pid := wssec.PatientID{Extension: form, Root: ehdsi.OIDMatricule}
		trc := ph.trc(form)
		rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassPS), false, ph.hcp, trc)
		_, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
		if len(docs) == 0 {
			t.Fatalf("PS list for %q: no document (%+v)", form, errs)
		}
		d := docs[0]
		rep = ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(
			ncpclient.DocRef{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID}), false, ph.hcp, trc)
		if st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body); err != nil || !ncpclient.IsSuccess(st) || len(got) != 1 {
			t.Fatalf("PS retrieve for %q: %s %d %+v %v", form, st, len(got), errs, err)
		}
	}
	retrievals := func(log audit.AccessLog) map[string]bool {
		sent := map[string]bool{}
		for _, a := range log.Accesses {
			if a.Event == audit.EventPSRetrieve {
				sent[a.Identifier] = true
			}
		}
		return sent
	}
	for _, q := range forms {
		code, log := accessLog(t, g, q)
		if code != http.StatusOK {
			t.Fatalf("access log for %q: HTTP %d", q, code)
		}
		if sent := retrievals(log); len(sent) != len(forms) {
			t.Errorf("HTTP access log for %q lists %d of %d PS retrievals: %v", q, len(sent), len(forms), sent)
		}
		cli, err := audit.PatientAccess(context.Background(), audit.DirReader{Dir: filepath.Join(g.state, "audit")}, nil, q)
		if err != nil {
			t.Fatal(err)
		}
		if sent := retrievals(cli); len(sent) != len(forms) {
			t.Errorf("CLI access log for %q lists %d of %d PS retrievals: %v", q, len(sent), len(forms), sent)
		}
	}
	// Each record names the canonical matricule, the form sent beside it.
	dir := t.TempDir()
	var files []string
	err := audit.Scan(filepath.Join(g.state, "audit"), func(e audit.Entry) error {
		if e.Record.Message == "" {
			return nil
		}
		if ev := e.Record.Event; ev.Type == audit.EventPSRetrieve && ev.Patient != canonical {
			t.Errorf("record %d: patient %q, want %s", e.Seq, ev.Patient, canonical)
		}
		f := filepath.Join(dir, strings.TrimPrefix(e.Record.ID, "urn:uuid:")+".xml")
		files = append(files, f)
		return os.WriteFile(f, []byte(e.Record.Message), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	xsd := testutil.Shared(t, "reference", "wire", "audit-samples", "xsd", "DICOM_Unsigned.xsd")
	if out, err := exec.Command(testutil.Tool(t, "xmllint"), append([]string{"--noout", "--nonet", "--schema", xsd}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("audit messages written do not validate: %v\n%s", err, out)
	}
	// A patient known only by a legacy id has a log (no 400).
	if code, log := accessLog(t, g, "1932 0815 021"); code != http.StatusOK || log.Matricule != "19320815021" {
		t.Fatalf("legacy-only patient: HTTP %d, %+v", code, log)
	}
}

// TestAccessLogOnAWSReadsTheS3Sink: with the AWS wiring (S3 audit sink,
// gofakes3), one audited XCPD identification appears in the patient's
// access log; the local audit directory is neither written nor read.
func TestAccessLogOnAWSReadsTheS3Sink(t *testing.T) {
	env, err := node.LoadAWSEnv(envOf(map[string]string{"LUXNCP_AUDIT_BUCKET": "audit"}))
	if err != nil {
		t.Fatal(err)
	}
	cl := node.AWSClients{S3: fakeS3Client(t, "audit")}
	tw, err := node.BuildAWS(context.Background(), env, cl, node.Config{StateDir: t.TempDir()}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	g := startOpts(t, quietLog(), 5*time.Second, func(o *node.Options) {
		o.AuditSink, o.AuditReader = tw.AuditSink, tw.AuditReader
	})
	ph := newPharmacist(t, "be", "physician")
	const patient = "1983030506626" // p07 DUBOIS
	ph.call(g.url+ehdsi.PathXCPD, ehdsi.ActionXCPD, ncpclient.XCPDBody(ncpclient.XCPDQuery{
		SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983 0305 06626", PatientRoot: ehdsi.OIDMatricule}), false, ph.hcp)
	code, log := accessLog(t, g, patient)
	// The identification, and this very read (audited before the answer).
	if code != http.StatusOK || len(log.Accesses) != 2 || log.Accesses[0].Event != audit.EventIdentification || log.Accesses[1].Event != audit.EventAccessLogRead {
		t.Fatalf("access log on AWS: HTTP %d, %+v", code, log)
	}
	if _, err := os.Stat(filepath.Join(g.state, "audit")); err == nil {
		t.Error("the local audit directory exists on an S3-audited host")
	}
}

// TestRefusedRequestsNameThePatient: requests refused at the security
// layer (an expired HCP assertion, fault before any lookup) are in the
// patient's access log: their records carry the identifier as sent —
// XCPD's livingSubjectId, the XCA query's XDSDocumentEntryPatientId, the
// XDR sourcePatientId, the TRC assertion's patient — canonicalised.
func TestRefusedRequestsNameThePatient(t *testing.T) {
	g := start(t)
	const canonical = "1962031411774"
	old := testkit.Identity(t, "fr", func() time.Time { return clock.Now().Add(-3 * time.Hour) })
	hcp, err := old.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour) // expired an hour ago
	if err != nil {
		t.Fatal(err)
	}
	pid := func(form string) wssec.PatientID { return wssec.PatientID{Extension: form, Root: ehdsi.OIDMatricule} }
	trc := func(form string) *etree.Element {
		a, err := old.TRC(hcp, pid(form), "TREATMENT", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cases := []struct {
		form, path, action string
		body               *etree.Element
		assertions         []*etree.Element
	}{
		{"1962-0314-11774", ehdsi.PathXCPD, ehdsi.ActionXCPD, ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336",
			ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1962-0314-11774", PatientRoot: ehdsi.OIDMatricule}), []*etree.Element{hcp}},
		{"1962 0314 11774", ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid("1962 0314 11774"), ehdsi.ClassPS),
			[]*etree.Element{hcp, trc("1962 0314 11774")}},
		{"1962.0314.11774", ehdsi.PathXDR, ehdsi.ActionXDR, ncpclient.XDRBody(ncpclient.XDRSubmission{Patient: pid("1962.0314.11774"),
			DocumentUID: "x^y", SubmissionSetID: "1.2.3", SourceID: "1.2.3", Document: []byte("<ClinicalDocument/>")}), []*etree.Element{hcp}},
		{"1962/0314/11774", ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(ncpclient.DocRef{HomeCommunityID: "urn:oid:" + ehdsi.HomeCommunityLU,
			RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3.4"}), []*etree.Element{hcp, trc("1962/0314/11774")}},
	}
	client := newPharmacist(t, "fr", "pharmacist").client
	for _, c := range cases {
		rep, err := client.Call(context.Background(), ncpclient.Request{URL: g.url + c.path, Action: c.action, Body: c.body, Assertions: c.assertions})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Fault == nil || rep.Fault.Code != ehdsi.ErrNotValidAssertion {
			t.Fatalf("%s with an expired HCP assertion: fault %+v, want %s", c.action, rep.Fault, ehdsi.ErrNotValidAssertion)
		}
	}
	code, log := accessLog(t, g, canonical)
	if code != http.StatusOK {
		t.Fatalf("access log: HTTP %d", code)
	}
	sent := map[string]string{}
	for _, a := range log.Accesses {
		sent[a.Identifier] = a.ErrorCode
	}
	for _, c := range cases {
		if got, ok := sent[c.form]; !ok || got != string(ehdsi.ErrNotValidAssertion) {
			t.Errorf("%s refused for %q: not in the patient's access log (%v)", c.action, c.form, sent)
		}
	}
}
