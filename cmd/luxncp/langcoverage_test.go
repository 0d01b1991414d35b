package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
<entry><observation><value code="10013000" codeSystem="2.16.840.1.113883.6.96" displayName="Lateral meniscus structure"/></observation></entry>
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
		!regexp.MustCompile(`terminology terms\s+2\s+1 \(50\.0 %\)\s+1\s+0`).MatchString(out) ||
		!strings.Contains(out, "leave out 1 terms of code systems the catalogue does not know (local identifiers, placeholder or mistyped OIDs: 1.2.203.99999)") ||
		!regexp.MustCompile(`SNOMED CT\)\s+1\s+1: 10013000`).MatchString(out) || !strings.Contains(out, "1.2.203.99999") {
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

// TestTerminologyLangCoverageFloor keeps the documented German, French and
// English coverage of the shared PS and eP samples and of luxncp's own
// fixtures (docs/translation.md) from regressing: a translation file
// dropped or a renderer change that loses terms makes it fail. Raise the
// floors when coverage grows.
func TestTerminologyLangCoverageFloor(t *testing.T) {
	total := regexp.MustCompile(`(?m)^total\s+(\d+)\s+(\d+) \(`)
	term := regexp.MustCompile(`(?m)^terminology terms\s+(\d+)\s+(\d+) \(`)
	samples := []string{testutil.Shared(t, "reference", "cda", "samples", "ps", "*.xml"), testutil.Shared(t, "reference", "cda", "samples", "ep", "*.xml")}
	fixtures := []string{
		filepath.Join("..", "..", "internal", "countryb", "testdata", "legacy", "*.xml"),
		filepath.Join("..", "..", "internal", "countryb", "testdata", "ed-pt.xml"),
		filepath.Join("..", "..", "internal", "cda", "ps", "testdata", "*.xml"),
		filepath.Join("..", "..", "internal", "cda", "testdata", "ep", "*-L3.xml"),
	}
	for _, tc := range []struct {
		set   string
		files []string
		n, nt int            // coded terms, terminology terms
		floor map[string]int // terms shown in the language (of all, and of terminology terms)
	}{
		// de, fr: 223 of 233 (95.7 %), of 225 (99.1 %); en: 225 (96.6 %, 100 %).
		{"shared samples", samples, 233, 225, map[string]int{"de": 223, "fr": 223, "en": 225}},
		// 688 of 702 (98.0 %), of 700 (98.3 %) in each language.
		{"luxncp fixtures", fixtures, 702, 700, map[string]int{"de": 688, "fr": 688, "en": 688}},
	} {
		for _, lang := range []string{"de", "fr", "en"} {
			code, out, errs := runCLI(t, append([]string{"terminology", "coverage", "--lang", lang}, tc.files...)...)
			if code != 0 {
				t.Fatalf("%s %s: %d %s", tc.set, lang, code, errs)
			}
			a, b := total.FindStringSubmatch(out), term.FindStringSubmatch(out)
			if a == nil || b == nil {
				t.Fatalf("%s %s: no totals in\n%s", tc.set, lang, out)
			}
			n, _ := strconv.Atoi(a[1])
			shown, _ := strconv.Atoi(a[2])
			nt, _ := strconv.Atoi(b[1])
			shownT, _ := strconv.Atoi(b[2])
			if n != tc.n || nt != tc.nt {
				t.Errorf("%s %s: %d terms, %d terminology terms; the documents changed: measure again and update docs/translation.md and the floors", tc.set, lang, n, nt)
			}
			if shown < tc.floor[lang] || shownT < tc.floor[lang] || shownT*10 < nt*9 {
				t.Errorf("%s %s: %d of %d terms, %d of %d terminology terms in %s; want at least %d (≥ 90 %%)\n%s", tc.set, lang, shown, n, shownT, nt, lang, tc.floor[lang], out)
			}
		}
	}
}
