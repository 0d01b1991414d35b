package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

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
	for _, sub := range [][]string{{"generate", "--url", gw}, {"sign"}, {"publish", "--smp", local.URL}} {
		if code, out := luxncp(append([]string{"smp"}, sub...)...); code != exitOK {
			t.Fatalf("smp %s: exit %d\n%s", sub[0], code, out)
		}
	}
	if code, out := luxncp("smp", "check", "--smp", local.URL, "--url", gw); code != exitOK {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	if code, out := luxncp("smp", "check", "--smp", local.URL, "--url", "https://ncp.example.lu"); code != exitFailure || !strings.Contains(out, "differs") {
		t.Fatalf("check against another URL: exit %d\n%s", code, out)
	}
}
