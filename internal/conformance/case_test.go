package conformance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/conformance"
	"github.com/luxncp/luxncp/internal/testutil"
)

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

// TestRepoCases: every case file parses, names its file, refers to patients
// of the lu-demo profile, and the suites the issue asks for are there.
func TestRepoCases(t *testing.T) {
	cases := repoCases(t)
	prof := repoProfile(t)
	if err := prof.CheckCases(cases); err != nil {
		t.Error(err)
	}
	if len(cases) < 60 {
		t.Errorf("%d cases, want at least 60", len(cases))
	}
	perSuite := map[string]int{}
	names := map[string]bool{}
	for _, c := range cases {
		perSuite[c.Suite]++
		names[c.ID()] = true
		if base := strings.TrimSuffix(filepath.Base(c.File), ".json"); base != c.Name {
			t.Errorf("%s: name %q differs from the file name", c.File, c.Name)
		}
		if c.Description == "" {
			t.Errorf("%s: no description", c.ID())
		}
	}
	for _, s := range []string{"patient-identification", "patient-summary", "eprescription", "edispensation", "security", "robustness"} {
		if perSuite[s] == 0 {
			t.Errorf("suite %s has no case", s)
		}
	}
	// The security and robustness situations the issue names.
	for _, want := range []string{"security/01-hcp-expired", "security/02-hcp-not-yet-valid", "security/05-hcp-wrong-audience",
		"security/06-hcp-missing-permission", "security/16-trc-other-patient", "security/07-hcp-untrusted-signer",
		"security/08-hcp-altered-after-signing", "security/14-replayed-message", "robustness/01-malformed-xml",
		"robustness/04-oversized-body", "robustness/05-wrong-soap-action", "robustness/08-wrong-content-type",
		"robustness/10-dtd-entity-bomb", "robustness/12-too-deep", "edispensation/01-submit", "edispensation/02-discard"} {
		if !names[want] {
			t.Errorf("case %s missing", want)
		}
	}
}

var caseErrors = []struct {
	name, json, want string
}{
	{"unknown field", `{"name":"a","transaction":"xcpd","expect":{"outcome":"success"},"typo":1}`, "unknown field"},
	{"no name", `{"transaction":"xcpd","expect":{"outcome":"success"}}`, "name missing"},
	{"bad transaction", `{"name":"a","transaction":"xcpx","expect":{"outcome":"success"}}`, "transaction"},
	{"bad outcome", `{"name":"a","transaction":"xcpd","expect":{"outcome":"ok"}}`, "outcome"},
	{"error without codes", `{"name":"a","transaction":"xcpd","expect":{"outcome":"error"}}`, "needs expect.codes"},
	{"raw without kind", `{"name":"a","transaction":"raw","expect":{"outcome":"fault"}}`, "raw.kind"},
	{"raw bad kind", `{"name":"a","transaction":"raw","request":{"raw":{"kind":"boom"}},"expect":{"outcome":"fault"}}`, "raw.kind"},
	{"query without class", `{"name":"a","transaction":"xca-query","request":{"patient":"ep"},"expect":{"outcome":"success"}}`, "classCode"},
	{"retrieve without selector", `{"name":"a","transaction":"xca-retrieve","request":{"patient":"ep","classCode":"57833-6"},"expect":{"outcome":"success"}}`, "request.document"},
	{"bad duration", `{"name":"a","transaction":"xcpd","assertion":{"hcp":{"issued":"3 hours"}},"expect":{"outcome":"fault"}}`, "validity"},
	{"bad signer", `{"name":"a","transaction":"xcpd","assertion":{"signer":"mallory"},"expect":{"outcome":"fault"}}`, "signer"},
	{"suite mismatch", `{"suite":"other","name":"a","transaction":"xcpd","expect":{"outcome":"success"}}`, "differs from the directory"},
	{"trailing data", `{"name":"a","transaction":"xcpd","expect":{"outcome":"success"}} {}`, "trailing"},
	{"ok", `{"name":"a","transaction":"xcpd","request":{"patient":"ep"},"expect":{"outcome":"success"}}`, ""},
}

func TestParseCase(t *testing.T) {
	for _, tc := range caseErrors {
		t.Run(tc.name, func(t *testing.T) {
			c, err := conformance.ParseCase([]byte(tc.json), "suite")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.want == "" && c.Suite != "suite" {
				t.Errorf("suite %q, want the directory name", c.Suite)
			}
		})
	}
}

func TestProfileErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"name":"x","patientRoot":"1.2"}`, "homeCommunityId"},
		{`{"name":"x","homeCommunityId":"1","patientRoot":"1.2","patients":{"a":{}}}`, "neither id nor family"},
		{`{"name":"x","homeCommunityId":"1","patientRoot":"1.2","extra":true}`, "unknown field"},
	} {
		if _, err := conformance.ParseProfile([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.json, err, tc.want)
		}
	}
	p, err := conformance.ParseProfile([]byte(`{"name":"x","homeCommunityId":"1","patientRoot":"1.2","patients":{"a":{"id":"9"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if pt, ok := p.Patient("a"); !ok || pt.Root != "1.2" {
		t.Errorf("patient a = %+v, want the profile's root", pt)
	}
	if p.MaxBodyBytes != 10<<20 {
		t.Errorf("MaxBodyBytes default %d", p.MaxBodyBytes)
	}
}

func TestLoadCasesRejectsDuplicatesAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("s/a.json", `{"name":"a","transaction":"xcpd","expect":{"outcome":"success"}}`)
	write("s/b.json", `{"name":"a","transaction":"xcpd","expect":{"outcome":"success"}}`)
	if _, err := conformance.LoadCasesDir(dir); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Errorf("duplicate: %v", err)
	}
	write("s/b.json", `{"name":`)
	if _, err := conformance.LoadCasesDir(dir); err == nil || !strings.Contains(err.Error(), "s/b.json") {
		t.Errorf("bad file: %v", err)
	}
}

func FuzzParseCase(f *testing.F) {
	for _, tc := range caseErrors {
		f.Add([]byte(tc.json))
	}
	files, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(f), "conformance", "cases", "*", "*.json"))
	for i, file := range files {
		if i%10 != 0 {
			continue
		}
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = conformance.ParseCase(data, "")
		_, _ = conformance.ParseProfile(data)
	})
}
