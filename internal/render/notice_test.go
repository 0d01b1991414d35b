package render

import (
	"strings"
	"testing"
)

// TestNoticeSentence: the count of terms not shown in the reader's
// language is a sentence in that language ("1 der 16 codierten Begriffe
// wird auf Englisch angezeigt"), singular and plural, not "2 + 2 / 14".
func TestNoticeSentence(t *testing.T) {
	for _, tc := range []struct {
		lang                  string
		english, unknown, all int
		want                  string
	}{
		{"de", 1, 0, 16, "<strong>1</strong> der 16 codierten Begriffe wird auf Englisch angezeigt, nicht auf Deutsch. Jeder ist unten markiert."},
		{"de", 2, 2, 14, "<strong>2</strong> der 14 codierten Begriffe werden auf Englisch angezeigt, nicht auf Deutsch. <strong>2</strong> der 14 codierten Begriffe haben einen unbekannten Code und werden wie empfangen angezeigt. Jeder ist unten markiert."},
		{"fr", 2, 1, 14, "<strong>2</strong> des 14 termes codés sont affichés en anglais, pas en français. <strong>1</strong> des 14 termes codés a un code inconnu et est affiché tel que reçu. Chacun est signalé ci-dessous."},
		{"en", 0, 3, 20, "<strong>3</strong> of the 20 coded terms have an unknown code and are shown as received. Each is marked below."},
		{"en", 0, 0, 20, ""},
	} {
		got := string(uiLabels[tc.lang].notice(tc.english, tc.unknown, tc.all))
		if got != tc.want {
			t.Errorf("%s %d+%d/%d:\n got %s\nwant %s", tc.lang, tc.english, tc.unknown, tc.all, got, tc.want)
		}
		if strings.Contains(got, " / ") || strings.Contains(got, " + ") {
			t.Errorf("%s: cryptic notice %q", tc.lang, got)
		}
	}
}

// TestEnglishReaderKnowsTemplateCodes: the codes the eHDSI entry templates
// fix (HL7 ActClass SUBST and CONC, ActCode SEV, IHE PCC FINSTRUCT, the
// IMMUNIZ code under the OID the eHDSI immunization template fixes) and
// template LOINC codes have an English display: an English reader does
// not see them marked "unknown code".
func TestEnglishReaderKnowsTemplateCodes(t *testing.T) {
	const doc = `<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody><component><section>
<entry><act><code code="SUBST" codeSystem="2.16.840.1.113883.5.6" displayName="Substituição"/></act></entry>
<entry><act><code code="CONC" codeSystem="2.16.840.1.113883.5.6"/></act></entry>
<entry><observation><code code="SEV" codeSystem="2.16.840.1.113883.5.4"/></observation></entry>
<entry><act><code code="FINSTRUCT" codeSystem="1.3.6.1.4.1.19376.1.5.3.2"/></act></entry>
<entry><substanceAdministration><code code="IMMUNIZ" codeSystem="1.3.5.1.4.1.19376.1.5.3.2"/></substanceAdministration></entry>
<entry><observation><code code="30973-2" codeSystem="2.16.840.1.113883.6.1"/></observation></entry>
</section></component></structuredBody></component></ClinicalDocument>`
	for _, lang := range Languages {
		out, rep, err := Translate([]byte(doc), catalogue(t), lang)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Terms != 6 || rep.Translated != 6 {
			t.Errorf("%s: %d of %d terms translated: %+v", lang, rep.Translated, rep.Terms, rep.Untranslated)
		}
		if lang == "en" && !strings.Contains(string(out), `displayName="Substitution"`) {
			t.Errorf("en: SUBST not shown as Substitution:\n%s", out)
		}
	}
}
