package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/evidence"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// servedState is the state directory of a fresh gateway, configured with
// nothing but that directory (its PKI the test one, in <state>/pki), after
// a French pharmacy retrieved n ePrescriptions from it.
func servedState(t *testing.T, n int) string {
	t.Helper()
	state := t.TempDir()
	if err := os.CopyFS(filepath.Join(state, "pki"), os.DirFS(testkit.PKIDir(t))); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := demo.New(filepath.Join(state, "national"), demo.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fhir := httptest.NewServer(b)
	t.Cleanup(fhir.Close)
	nc, err := national.NewClient(fhir.URL + "/fhir")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := node.New(node.Config{StateDir: state}, log, node.Options{National: nc})
	if err != nil {
		t.Fatal(err)
	}
	srv := testkit.Server(t, gw.Handler())

	id := testkit.Identity(t, "fr", nil)
	hcp, err := id.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pid := wssec.PatientID{Extension: "1971011007114", Root: ehdsi.OIDMatricule}
	trc, err := id.TRC(hcp, pid, "TREATMENT", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cl := testkit.Client(t, "fr")
	call := func(action string, body *etree.Element) *ncpclient.Reply {
		rep, err := cl.Call(context.Background(), ncpclient.Request{URL: srv.URL + ehdsi.PathXCA, Action: action, Body: body, Assertions: []*etree.Element{hcp, trc}})
		if err != nil || rep.Fault != nil {
			t.Fatalf("%s: %v %+v", action, err, rep)
		}
		return rep
	}
	_, docs, _ := ncpclient.ParseQueryResponse(call(ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassEP)).Env.Body)
	if len(docs) == 0 {
		t.Fatal("no ePrescription listed")
	}
	for range n {
		call(ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(ncpclient.DocRef{HomeCommunityID: docs[0].HomeCommunityID,
			RepositoryUniqueID: docs[0].RepositoryUniqueID, DocumentUniqueID: docs[0].UniqueID}))
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return state
}

// TestEvidenceVerifyAll: `luxncp evidence verify --all` with nothing but
// --state-dir verifies a fresh gateway's evidence (the node's trust list,
// audit chain and evidence directory); once two evidence pairs are removed
// with their index lines (the outside tester's attack), it fails and names
// them.
func TestEvidenceVerifyAll(t *testing.T) {
	for _, v := range []string{"LUXNCP_STATE_DIR", "LUXNCP_PKI_DIR", "LUXNCP_TRUST_BUNDLE", "LUXNCP_AUDIT_DIR", "LUXNCP_EVIDENCE_DIR", "LUXNCP_COUNTRY"} {
		t.Setenv(v, "")
	}
	state := servedState(t, 3)
	code, out, errs := runCLI(t, "evidence", "verify", "--all", "--state-dir", state)
	if code != 0 || !strings.Contains(out, "6 indexed files checked") || !strings.Contains(out, "names 6") || !strings.Contains(out, "OK:") {
		t.Fatalf("fresh gateway: exit %d\n%s%s", code, out, errs)
	}

	// Remove the last two pairs (4 files) and their lines in the index.
	dir := evidence.Dir(state)
	raw, err := os.ReadFile(filepath.Join(dir, evidence.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
	var gone []string
	for _, l := range lines[2:] {
		var e evidence.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(e.File))); err != nil {
			t.Fatal(err)
		}
		gone = append(gone, e.ID)
	}
	if err := os.WriteFile(filepath.Join(dir, evidence.IndexFile), []byte(strings.Join(lines[:2], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, "evidence", "verify", "--all", "--state-dir", state)
	if code != 1 || strings.Contains(out, "OK:") {
		t.Fatalf("two pairs removed: exit %d\n%s%s", code, out, errs)
	}
	for _, id := range gone {
		if !strings.Contains(out, "names evidence "+id) {
			t.Errorf("removed evidence %s not reported:\n%s", id, out)
		}
	}
}
