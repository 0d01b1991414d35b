package render

import (
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/terminology"
)

// fallbackCDA has three coded terms with Czech text: SNOMED "Pollen"
// (an English MVC display, no German one), a local code whose only
// known code is SNOMED "Strawberry" (English only) in its own <translation>, and a
// local code carrying ICD-10 I10 (displayed in German) in its translation.
const fallbackCDA = `<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody><component><section>
<entry><observation><value code="256259004" codeSystem="2.16.840.1.113883.6.96" displayName="Pyl"/></observation></entry>
<entry><observation><value code="KSB" codeSystem="1.2.203.99999.1" displayName="Jahoda"><translation code="102261002" codeSystem="2.16.840.1.113883.6.96"/></value></observation></entry>
<entry><observation><value code="HT" codeSystem="1.2.203.99999.2" displayName="Esenciální hypertenze"><translation code="I10" codeSystem="1.3.6.1.4.1.12559.11.10.1.3.1.44.2"/></value></observation></entry>
</section></component></structuredBody></component></ClinicalDocument>`

// TestEnglishBeforeSourceLanguage: a term with no German display is shown
// in English (from the MVC catalogue), not in the source language, also
// when only a code in its <translation> children is known.
func TestEnglishBeforeSourceLanguage(t *testing.T) {
	cat := catalogue(t)
	if r, ok := cat.Translate(terminology.Coding{Code: "256259004", System: "2.16.840.1.113883.6.96"}, "de"); !ok || r.Lang != "en" {
		t.Fatalf("fixture: 256259004 should have an English display and no German one, got %+v %v", r, ok)
	}
	out, rep, err := Translate([]byte(fallbackCDA), cat, "de")
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`displayName="Pollen"`, `displayName="Strawberry"`, `displayName="Essentielle (primäre) Hypertonie"`,
		// The text as received is kept beside it.
		`<translation code="256259004" codeSystem="2.16.840.1.113883.6.96" displayName="Pyl"/>`} {
		if !strings.Contains(s, want) {
			t.Errorf("no %s in\n%s", want, s)
		}
	}
	if strings.Contains(s, `<value code="256259004" codeSystem="2.16.840.1.113883.6.96" displayName="Pyl`) {
		t.Error("source-language text kept as the display")
	}
	if rep.Terms != 3 || rep.Translated != 1 || len(rep.Untranslated) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, u := range rep.Untranslated {
		if u.Status != StatusEnglish || u.Lang != "en" {
			t.Errorf("untranslated %+v: want shown in English", u)
		}
	}
	listed, cut := rep.Listed(1)
	if len(listed) != 1 || !cut || listed[0].Shown == "" || listed[0].OriginalDisplay == "" {
		t.Errorf("listed %+v %v", listed, cut)
	}
	// The clinician view shows the same.
	r, err := NewRenderer(cat)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.HTML(&b, []byte(fallbackCDA), Options{Lang: "de"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Pollen", "Strawberry", "Essentielle (primäre) Hypertonie"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
