package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testkit"
)

// TestTrustCommands onboards a partner end to end with the CLI: check
// refuses its certificate, add lists its CA, check accepts it for the
// country of the entry, list shows it, and a certificate of another
// country under that CA is refused with the cause.
func TestTrustCommands(t *testing.T) {
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust")
	os.MkdirAll(trust, 0o755)
	ca := testkit.NewCA(t, testkit.Cert{CN: "Ireland NCP CA", Country: "IE"})
	leaf := ca.Issue(t, testkit.Cert{CN: "ncp.ie", Country: "IE", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}})
	other := ca.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"})
	write := func(name string, cs ...*x509.Certificate) string {
		var b []byte
		for _, c := range cs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	caFile, leafFile, otherFile := write("ca.pem", ca.Cert), write("leaf.pem", leaf.Cert), write("other.pem", other.Cert)

	// An empty folder is no trust list yet: add to it first.
	if code, out, _ := runCLI(t, "trust", "add", "--trust", trust, "--country", "ie", "--role", "tls", caFile); code != 0 || !strings.Contains(out, "ie-tls.pem") {
		t.Fatalf("add: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "trust", "add", "--trust", trust, "--country", "IE", "--role", "tls", caFile); code != 0 || !strings.Contains(out, "already listed") {
		t.Fatalf("add again: %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "trust", "add", "--trust", trust, "--country", "DE", "--role", "tls", leafFile); code != 1 {
		t.Errorf("an IE certificate added for DE: exit %d", code)
	}
	if code, out, _ := runCLI(t, "trust", "check", "--trust", trust, leafFile); code != 0 || !strings.Contains(out, "tls: accepted for IE") || !strings.Contains(out, "seal: refused") {
		t.Errorf("check: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "trust", "check", "--trust", trust, "--role", "tls", otherFile); code != 1 || !strings.Contains(out, "country of its trust-list entry") {
		t.Errorf("check C=FR under IE's CA: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "trust", "list", "--trust", trust); code != 0 || !strings.Contains(out, "IE") || !strings.Contains(out, "CA") {
		t.Errorf("list: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "trust", "list", "--trust", trust, "--pem", "--role", "tls"); code != 0 || strings.Contains(out, "Country:") || !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("list --pem: %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "trust", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}
