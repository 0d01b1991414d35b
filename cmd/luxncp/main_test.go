package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
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
	trust, err := pki.LoadTrustStore(filepath.Join(dir, pki.TrustDir))
	if err != nil {
		t.Fatal(err)
	}
	v := &wssec.Verifier{Trust: trust, Now: func() time.Time { return clock.Now().Add(time.Minute) }}
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

// TestHelpExitsZero: -h, --help and 'help <cmd>' print the command's help
// on stdout and exit 0, for every command.
func TestHelpExitsZero(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}} {
			code, out, errs := runCLI(t, args...)
			if code != 0 || !strings.Contains(out, "luxncp "+c.name) || errs != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
			}
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"request", "xcpd", "-h"}, {"conformance", "load", "-h"}, {"help", "conformance", "run"}} {
		if code, out, _ := runCLI(t, args...); code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
	if code, out, _ := runCLI(t, "help", "serve"); code != 0 || !strings.Contains(out, "-national-addr") {
		t.Errorf("help serve lists no flags: %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "help", "frobnicate"); code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: %d %s", code, errs)
	}
}

// TestUsageErrorsExitTwo: a wrong flag or value exits 2 and names it.
func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"show", "--nope"}, "-nope"},
		{[]string{"conformance", "load", "--duration", "soon"}, "-duration"},
		{[]string{"directory", "lisst"}, `"lisst"`},
		{[]string{"version", "extra"}, `"extra"`},
		{[]string{"conformance", "load", "--rate", "20/x"}, `--rate: "20/x" is not a rate like 20/s`},
		{[]string{"conformance", "load", "--concurrency", "0"}, "--concurrency: 0 is not between 1 and 1024"},
		{[]string{"conformance", "load", "--professionals", "0"}, "--professionals: 0 is not between 1 and 100000"},
		{[]string{"conformance", "load", "--session", "4h"}, "--session: 4h0m0s must be more than 0 and at most 3h55m0s"},
		{[]string{"request", "xcpd"}, "--country is required"},
		{[]string{"assertion", "hcp", "--country", "France"}, `--country: "France" is not a two-letter country code`},
	}
	for _, tc := range cases {
		if code, _, errs := runCLI(t, tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
	}
}

// TestArgumentsAreChecked: values the help lists are the only ones accepted,
// and the message names the argument (a script must not get a signed request
// with no patient in it, or a run of 104 failures for a URL without scheme).
func TestArgumentsAreChecked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if _, err := pki.EnsureDev(dir, pki.DevOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Usage: luxncp <command>"},
		{[]string{"request", "xcpd", "--country", "FR", "--pki-dir", dir}, "xcpd needs --patient ID"},
		{[]string{"request", "xca-query", "--country", "FR", "--pki-dir", dir, "--patient", "1971011007114", "--class", "99999-9"}, `--class: "99999-9" is not a class`},
		{[]string{"assertion", "hcp", "--country", "FR", "--pki-dir", dir, "--purpose", "FUN"}, `--purpose: "FUN" is not an eHDSI purpose of use`},
		{[]string{"conformance", "run", "--target", "127.0.0.1:8443", "--pki-dir", dir}, `--target: "127.0.0.1:8443" is not a URL like https://`},
		{[]string{"conformance", "load", "--duration", "0s", "--pki-dir", dir}, "--duration: 0s must be more than 0"},
		{[]string{"terminology", "lookup"}, "lookup needs <system> <code>"},
	}
	for _, tc := range cases {
		if code, _, errs := runCLI(t, tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestVersion: module version, commit and Go version, from the build info.
func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "module   ") || !strings.Contains(out, "go       go1.") {
		t.Fatalf("version: %d\n%s", code, out)
	}
	var b bytes.Buffer
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/luxncp/luxncp", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "a9388a3e"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}}}
	if err := writeVersion(&b, bi); err != nil {
		t.Fatal(err)
	}
	want := "luxncp v1.2.3\n  module   github.com/luxncp/luxncp v1.2.3\n  commit   a9388a3e 2026-01-02T03:04:05Z (modified)\n  go       go1.26.8 linux/arm64\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
