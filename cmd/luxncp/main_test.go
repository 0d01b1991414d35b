package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpAndUnknown(t *testing.T) {
	code, out, _ := runCLI(t, "help")
	if code != 0 || !strings.Contains(out, "assertion hcp --country FR") || !strings.Contains(out, "serve") {
		t.Fatalf("help: %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command: %d %s", code, errs)
	}
}

// TestAssertionCommands: `luxncp assertion hcp` and `trc` print assertions
// that luxncp's own verifier accepts, signed by the asked country.
func TestAssertionCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if code, out, errs := runCLI(t, "pki", "init", "--pki-dir", dir); code != 0 {
		t.Fatalf("pki init: %d %s %s", code, out, errs)
	}
	code, hcpXML, errs := runCLI(t, "assertion", "hcp", "--country", "BE", "--role", "nurse", "--purpose", "EMERGENCY", "--pki-dir", dir)
	if code != 0 {
		t.Fatalf("assertion hcp: %d %s", code, errs)
	}
	hcpFile := filepath.Join(t.TempDir(), "hcp.xml")
	os.WriteFile(hcpFile, []byte(hcpXML), 0o644)
	code, trcXML, errs := runCLI(t, "assertion", "trc", "--country", "BE", "--hcp", hcpFile, "--patient", "1990010112385", "--pki-dir", dir)
	if code != 0 {
		t.Fatalf("assertion trc: %d %s", code, errs)
	}
	ca, err := pki.ReadCertificate(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	v := &wssec.Verifier{Trust: pki.NewTrustStore(ca), Now: func() time.Time { return clock.Now().Add(time.Minute) }}
	parse := func(s string) *etree.Element {
		d := etree.NewDocument()
		if err := d.ReadFromString(s); err != nil {
			t.Fatal(err)
		}
		return d.Root()
	}
	c, err := v.VerifyHCP(parse(hcpXML))
	if err != nil {
		t.Fatal(err)
	}
	if c.SignerCountry != "BE" || c.Role.Code != "2221" || c.Purpose != "EMERGENCY" {
		t.Errorf("caller %+v", c)
	}
	trc, err := v.VerifyTRC(parse(trcXML), c)
	if err != nil {
		t.Fatal(err)
	}
	if trc.Patient.Extension != "1990010112385" || trc.Patient.Root != "1.3.182.4.4" {
		t.Errorf("trc %+v", trc)
	}
	if code, _, errs := runCLI(t, "assertion", "hcp", "--country", "XX", "--pki-dir", dir); code != 1 || !strings.Contains(errs, "seal key for XX") {
		t.Errorf("unknown country: %d %s", code, errs)
	}
}
