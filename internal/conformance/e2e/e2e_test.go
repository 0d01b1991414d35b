package e2e_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/conformance"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// expectedToFail lists the cases that fail against the gateway of this
// tree, with the reason. The lead prunes it as the gateway catches up; a
// listed case that passes fails the test, so the list stays exact.
var expectedToFail = map[string]string{}

// startNode builds a luxncp node with the demo national backend, served over
// mutual TLS like `luxncp serve`, and returns its base URL.
func startNode(t *testing.T) string {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith is startNode with the node's handler wrapped by wrap (nil:
// none), e.g. to alter its responses.
func startNodeWith(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	return startObservedNode(t, wrap).srv.URL
}

// testNode is a started node: its gateway's server and, as `luxncp serve`
// exposes it on the admin listener, its metrics endpoint.
type testNode struct {
	srv, metrics *httptest.Server
}

// startObservedNode is startNodeWith, returning the servers.
func startObservedNode(t *testing.T, wrap func(http.Handler) http.Handler) testNode {
	t.Helper()
	backend, err := demo.New("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	nat := httptest.NewServer(backend)
	t.Cleanup(nat.Close)
	nc, err := national.NewClient(nat.URL + "/fhir")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	tel := telemetry.New(telemetry.Options{})
	cfg := node.Config{StateDir: state, TrustBundle: filepath.Join(testkit.PKIDir(t), pki.TrustDir), AuditDir: filepath.Join(state, "audit")}
	n, err := node.New(cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), node.Options{National: nc, Telemetry: tel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	h := n.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	metrics := httptest.NewServer(tel.Handler())
	t.Cleanup(metrics.Close)
	return testNode{srv: testkit.Server(t, h), metrics: metrics}
}

func repoProfile(t *testing.T) *conformance.Profile {
	t.Helper()
	p, err := conformance.LoadProfile(filepath.Join(testutil.RepoRoot(t), "conformance", "profiles", "lu-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func repoCases(t *testing.T) []conformance.Case {
	t.Helper()
	cases, err := conformance.LoadCasesDir(filepath.Join(testutil.RepoRoot(t), "conformance", "cases"))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func newRunner(t *testing.T, url string) *conformance.Runner {
	t.Helper()
	other := testkit.Credential(t, "be", pki.KindSeal)
	return &conformance.Runner{
		Target:     url,
		Client:     testkit.Client(t, "fr"),
		NoCert:     testkit.Client(t, ""),
		Profile:    repoProfile(t),
		Creds:      &conformance.Credentials{Identity: testkit.Identity(t, "fr", nil), Other: wssec.Signer{Key: other.Signer, Cert: other.Cert}},
		SenderHCID: "2.16.17.710.790.1000.990.1",
		Trust:      testkit.Trust(t),
	}
}

// TestSuiteAgainstNode runs every case against a luxncp node built in the
// test: every case passes except those listed in expectedToFail.
func TestSuiteAgainstNode(t *testing.T) {
	url := startNode(t)
	r := newRunner(t, url)
	tool := filepath.Join(testutil.RepoRoot(t), "..", "shared", "tools", "validate-cda")
	// validate-cda compiles schematrons and starts a JVM: tens of seconds on
	// two shared cores, so the full validation is opt-in here.
	if _, err := os.Stat(tool); err == nil && os.Getenv("CONFORMANCE_VALIDATE_CDA") != "" {
		r.ValidateCDA = tool
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep := r.Run(ctx, repoCases(t))
	var sum bytes.Buffer
	if err := conformance.WriteSummary(&sum, rep); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + sum.String())
	if dir := os.Getenv("CONFORMANCE_REPORT_DIR"); dir != "" {
		writeReports(t, dir, rep)
	}
	names := map[string]bool{}
	for _, c := range rep.Cases {
		names[c.ID()] = true
	}
	for k := range expectedToFail {
		if !names[k] {
			t.Errorf("expectedToFail names %s, which is not a case", k)
		}
	}
	var still []string
	for _, c := range rep.Cases {
		why, expected := expectedToFail[c.ID()]
		switch {
		case c.Verdict == conformance.Skip:
			t.Errorf("%s skipped: %s", c.ID(), strings.Join(c.Reasons, "; "))
		case c.Verdict == conformance.Fail && !expected:
			t.Errorf("%s failed:\n  %s", c.ID(), strings.Join(c.Reasons, "\n  "))
		case c.Verdict == conformance.Fail:
			still = append(still, c.ID()+" ("+why+")")
		case expected:
			t.Errorf("%s passes now: remove it from expectedToFail", c.ID())
		}
	}
	sort.Strings(still)
	if len(still) > 0 {
		t.Logf("expected to fail (expectedToFail, %d):\n  %s", len(still), strings.Join(still, "\n  "))
	}
}

func writeReports(t *testing.T, dir string, rep *conformance.Report) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]func(io.Writer, *conformance.Report) error{
		"conformance.html": conformance.WriteHTML, "conformance.xml": conformance.WriteJUnit, "conformance.json": conformance.WriteJSON,
	} {
		var b bytes.Buffer
		if err := w(&b, rep); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadShort runs the load mode for a few seconds; its figures go to a
// report file (CONFORMANCE_LOAD_REPORT, else a temporary one) and the log,
// and are never asserted.
func TestLoadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	url := startNode(t)
	l := &conformance.Load{
		Target: url, Client: testkit.Client(t, "fr"), Identity: testkit.Identity(t, "fr", nil), Profile: repoProfile(t),
		SenderHCID: "2.16.17.710.790.1000.990.1", Rate: 20, Duration: 3 * time.Second, Concurrency: 8,
	}
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := conformance.WriteLoadText(&b, rep); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	file := os.Getenv("CONFORMANCE_LOAD_REPORT")
	if file == "" {
		file = filepath.Join(t.TempDir(), "load.json")
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := conformance.WriteLoadJSON(f, rep); err != nil {
		t.Fatal(err)
	}
	if rep.Iterations == 0 || rep.Iterations > 60 {
		t.Errorf("%d iterations, want 1..60 (bounded by rate × duration)", rep.Iterations)
	}
	if rep.Failed > 0 {
		t.Errorf("%d of %d iterations failed: %v", rep.Failed, rep.Iterations, rep.Errors)
	}
}
