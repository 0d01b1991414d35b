package render

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
)

// TestSubstitutionNotStated: a SUBST observation whose value carries no
// code (a nullFlavor) or a code outside HL7's substitution kinds is shown
// as "not stated", never as "allowed"; N forbids, G allows.
func TestSubstitutionNotStated(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	const sent = `<value xsi:type="CE" code="N" codeSystem="2.16.840.1.113883.5.1070" displayName="Žádná"/>`
	base := legacyEP(t, "cz")
	if !bytes.Contains(base, []byte(sent)) {
		t.Fatal("fixture changed: no substitution value N")
	}
	for _, tc := range []struct{ value, de, fr, en string }{
		{`<value xsi:type="CE" nullFlavor="UNK"/>`, "nicht angegeben", "non précisée", "not stated"},
		{`<value xsi:type="CE" code="X" codeSystem="2.16.840.1.113883.5.1070"/>`, "nicht angegeben (X)", "non précisée (X)", "not stated (X)"},
		{`<value xsi:type="CE" code="G" codeSystem="2.16.840.1.113883.5.1070"/>`, "erlaubt", "autorisée", "allowed"},
		{sent, "nicht erlaubt", "non autorisée", "not allowed"},
	} {
		doc := bytes.Replace(base, []byte(sent), []byte(tc.value), 1)
		for lang, want := range map[string]string{"de": tc.de, "fr": tc.fr, "en": tc.en} {
			page, err := r.HTMLBytes(doc, Options{Lang: lang, SourceCountry: "CZ"})
			if err != nil {
				t.Fatal(err)
			}
			label := uiLabels[lang].Substitution
			if w := "<dt>" + label + "</dt><dd>" + want + "</dd>"; !bytes.Contains(page, []byte(w)) {
				t.Errorf("%s, %s: page lacks %q", lang, tc.value, w)
			}
		}
	}
}

// TestFormatDateMalformed: only an HL7 TS is rearranged; an ISO date, a
// word or an impossible month is shown as received, not as a wrong date.
func TestFormatDateMalformed(t *testing.T) {
	for _, tc := range []struct{ in, de, fr string }{
		{"20260112", "12.01.2026", "12/01/2026"},
		{"202601120930", "12.01.2026 09:30", "12/01/2026 09:30"},
		{"20260112093000+0100", "12.01.2026 09:30", "12/01/2026 09:30"},
		{"2026011209", "12.01.2026", "12/01/2026"},
		{"202601", "01.2026", "01/2026"},
		{"2026-01-12", "2026-01-12", "2026-01-12"},
		{"20261312", "20261312", "20261312"},
		{"20260100", "20260100", "20260100"},
		{"202601122599", "202601122599", "202601122599"},
		{"unknown!", "unknown!", "unknown!"},
		{"2026", "2026", "2026"},
		{"", "", ""},
	} {
		for lang, want := range map[string]string{"de": tc.de, "fr": tc.fr} {
			if got := formatDate(tc.in, lang); got != want {
				t.Errorf("formatDate(%q, %s) = %q, want %q", tc.in, lang, got, want)
			}
		}
	}
}

// TestUntranslatedCountMatchesMarks: the notice's count of terms not shown
// in the reader's language equals the marks on the page, and a prescribed
// item's strength shown in English carries the mark too (it is counted
// once, with its coded entry).
func TestUntranslatedCountMatchesMarks(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.HTMLBytes(englishOnlyPS(t), Options{Lang: "de", SourceCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`data-field="untranslated-count"><strong>(\d+)</strong>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no untranslated count on the page (fixture changed?)")
	}
	n, _ := strconv.Atoi(string(m[1]))
	if rows := bytes.Count(page, []byte(`class="untranslated-row"`)); rows != n {
		t.Errorf("notice counts %d untranslated terms, the coded entries mark %d", n, rows)
	}
	if !regexp.MustCompile(`<dt>Stärke</dt><dd>BLOOD GLUCOSE LOWERING DRUGS, EXCL. INSULINS 850 mg <span class="tag" data-term-status="english">`).Match(page) {
		t.Error("the item's strength in English is not marked")
	}
}

// TestCombinationStrengths: a product with two active ingredients shows
// both strengths (a pharmacist reading only "Ramipril 2,5 mg" would take
// the single-substance product), in the current and the epSOS namespace;
// the legacy inner ingredient code is labelled as the active ingredient.
func TestCombinationStrengths(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	doc := legacyEP(t, "gr")
	const one = `<epsos:ingredient classCode="ACTI">`
	i := bytes.Index(doc, []byte(one))
	end := bytes.Index(doc, []byte("</manufacturedMaterial>"))
	if i < 0 || end < i {
		t.Fatal("fixture changed: no epsos:ingredient")
	}
	second := `<epsos:ingredient classCode="ACTI"><epsos:quantity><epsos:numerator xsi:type="epsos:PQ" value="2.5" unit="mg"/>` +
		`<epsos:denominator xsi:type="epsos:PQ" value="1" unit="1"/></epsos:quantity><epsos:ingredient classCode="MMAT" determinerCode="KIND">` +
		`<epsos:code code="C08CA02" codeSystem="2.16.840.1.113883.6.73" codeSystemName="ATC" displayName="Φελοδιπίνη"/></epsos:ingredient></epsos:ingredient>`
	doc = append(doc[:end:end], append([]byte(second), doc[end:]...)...)
	page, err := r.HTMLBytes(doc, Options{Lang: "de", SourceCountry: "GR"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"<dt>Stärke</dt><dd>Enalapril 20 mg</dd>", "<dt>Stärke</dt><dd>Felodipin 2,5 mg</dd>",
		"<th scope=\"row\">Wirkstoff</th>\n<td lang=\"de\">Felodipin</td>"} {
		if !bytes.Contains(page, []byte(w)) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// TestPeriodOfOne: a dose every 1 day reads "jeden Tag" / "tous les jours"
// / "every day", not "alle 1 Tage"; other periods keep their number.
func TestPeriodOfOne(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	const sent = `<period value="12" unit="h"/>`
	base := legacyEP(t, "gr")
	if !bytes.Contains(base, []byte(sent)) {
		t.Fatal("fixture changed: no 12 h period")
	}
	doc := bytes.Replace(base, []byte(sent), []byte(`<period value="1" unit="d"/>`), 1)
	for lang, want := range map[string][2]string{"de": {"jeden Tag", "alle 12 Stunden"}, "fr": {"tous les jours", "toutes les 12 heures"}, "en": {"every day", "every 12 hours"}} {
		for i, d := range [][]byte{doc, base} {
			page, err := r.HTMLBytes(d, Options{Lang: lang, SourceCountry: "GR"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(page, []byte("1 · "+want[i]+"</dd>")) {
				t.Errorf("%s: page lacks %q", lang, "1 · "+want[i])
			}
		}
		if page, _ := r.HTMLBytes(doc, Options{Lang: lang, SourceCountry: "GR"}); bytes.Contains(page, []byte(" 1 Tage")) || bytes.Contains(page, []byte(" 1 jours")) || bytes.Contains(page, []byte(" 1 days")) {
			t.Errorf("%s: page writes a period of one as a plural", lang)
		}
	}
}
