package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/smp"
)

// generate, sign and publish Luxembourg's metadata to an SMP; check passes
// against the same gateway URL and fails against another one.
func TestSMPPublishAndCheck(t *testing.T) {
	state := t.TempDir()
	t.Setenv("LUXNCP_STATE_DIR", state)
	if _, err := pki.EnsureDev(filepath.Join(state, "pki"), pki.DevOptions{Countries: []string{"lu"}, Now: clock.Now().AddDate(0, 0, -1)}); err != nil {
		t.Fatal(err)
	}
	trust, err := pki.LoadTrustStore(filepath.Join(state, "pki", pki.TrustDir))
	if err != nil {
		t.Fatal(err)
	}
	local, err := smp.StartLocal("sml.test", "127.0.0.1:0", "127.0.0.1:0", smp.Verifier{Trust: trust}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Close() })
	gw := "https://127.0.0.1:58443"
	luxncp := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := luxncp("smp", "check", "--smp", local.URL, "--url", gw); code != exitFailure || !strings.Contains(out, "missing") {
		t.Fatalf("check before publishing: exit %d\n%s", code, out)
	}
	for _, sub := range [][]string{{"generate", "--url", gw}, {"sign"}, {"publish", "--smp", local.URL, "--operator", "Anne Operator"}} {
		if code, out := luxncp(append([]string{"smp"}, sub...)...); code != exitOK {
			t.Fatalf("smp %s: exit %d\n%s", sub[0], code, out)
		}
	}
	// Each upload is on record (EHDSI-194) in the operator log, which
	// verifies, and names its operator.
	if code, out := luxncp("audit", "verify"); code != exitOK || !strings.Contains(out, "operator") {
		t.Fatalf("audit verify after publishing: exit %d\n%s", code, out)
	}
	log, err := os.ReadFile(filepath.Join(audit.OperatorDir(filepath.Join(state, "audit")), "audit-00000001.log"))
	if err != nil {
		matches, _ := filepath.Glob(filepath.Join(audit.OperatorDir(filepath.Join(state, "audit")), "*"))
		t.Fatalf("operator log: %v (files %v)", err, matches)
	}
	if n := strings.Count(string(log), `"EHDSI-194"`); n != len(smp.DocumentIDs()) || !strings.Contains(string(log), "Anne Operator") {
		t.Fatalf("operator log holds %d EHDSI-194 records (want %d, by Anne Operator):\n%.600s", n, len(smp.DocumentIDs()), log)
	}
	if code, out := luxncp("smp", "check", "--smp", local.URL, "--url", gw); code != exitOK {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	if code, out := luxncp("smp", "check", "--smp", local.URL, "--url", "https://ncp.example.lu"); code != exitFailure || !strings.Contains(out, "differs") {
		t.Fatalf("check against another URL: exit %d\n%s", code, out)
	}
}
