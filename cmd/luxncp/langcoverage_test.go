package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// TestTerminologyLangCoverage: `terminology coverage --lang` counts the
// coded terms of CDA documents displayed in the language and lists the
// misses by code system.
func TestTerminologyLangCoverage(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "one.xml")
	cda := `<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody><component><section>
<entry><observation><value code="I10" codeSystem="1.3.6.1.4.1.12559.11.10.1.3.1.44.2" displayName="Essential (primary) hypertension"/></observation></entry>
<entry><observation><value code="112144000" codeSystem="2.16.840.1.113883.6.96" displayName="Blood group A"/></observation></entry>
<entry><observation><value code="X" codeSystem="1.2.203.99999" displayName="místní"/></observation></entry>
</section></component></structuredBody></component></ClinicalDocument>`
	if err := os.WriteFile(doc, []byte(cda), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "terminology", "coverage", "--lang", "de", doc)
	if code != 0 {
		t.Fatalf("%d %s", code, errs)
	}
	if !regexp.MustCompile(`total\s+3\s+1 \(33\.3 %\)\s+1\s+1`).MatchString(out) ||
		!regexp.MustCompile(`SNOMED CT\)\s+1\s+1: 112144000`).MatchString(out) || !strings.Contains(out, "1.2.203.99999") {
		t.Errorf("coverage:\n%s", out)
	}
	// The shared samples (the documented figures come from these).
	code, out, errs = runCLI(t, "terminology", "coverage", "--lang", "fr",
		testutil.Shared(t, "reference", "cda", "samples", "ps", "*.xml"), testutil.Shared(t, "reference", "cda", "samples", "ep", "*.xml"))
	if code != 0 || !strings.Contains(out, "PT_PS-L3_W8_2-1234.xml") || !strings.Contains(out, "not in fr, by code system") {
		t.Errorf("samples: %d %s\n%s", code, errs, out)
	}
	if code, _, errs := runCLI(t, "terminology", "coverage", "--lang", "xx", doc); code != 2 || !strings.Contains(errs, "not offered") {
		t.Errorf("unknown language: %d %s", code, errs)
	}
}
