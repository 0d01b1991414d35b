package render

import (
	"bytes"
	"testing"
)

// TestFormatNumber: decimals in the reader's format, CLDR separators.
func TestFormatNumber(t *testing.T) {
	tests := []struct{ in, de, fr, en string }{
		{"2.5", "2,5", "2,5", "2.5"},
		{"500", "500", "500", "500"},
		{"1000", "1.000", "1\u202f000", "1,000"},
		{"10000.25", "10.000,25", "10\u202f000,25", "10,000.25"},
		{"-1234567", "-1.234.567", "-1\u202f234\u202f567", "-1,234,567"},
		{".5", "0,5", "0,5", "0.5"},
		{"0.125", "0,125", "0,125", "0.125"},
		// Leading zeros are not grouped into something that reads as a decimal.
		{"0010", "10", "10", "10"},
		{"0001000.5", "1.000,5", "1\u202f000,5", "1,000.5"},
		{"-00.5", "-0,5", "-0,5", "-0.5"},
		// Not a plain decimal: shown as received.
		{"1e3", "1e3", "1e3", "1e3"},
		{"2.", "2.", "2.", "2."},
		{"1.2.3", "1.2.3", "1.2.3", "1.2.3"},
		{"", "", "", ""},
		{"12 mg", "12 mg", "12 mg", "12 mg"},
	}
	for _, tc := range tests {
		for lang, want := range map[string]string{"de": tc.de, "fr": tc.fr, "en": tc.en} {
			if got := formatNumber(tc.in, lang); got != want {
				t.Errorf("formatNumber(%q, %s) = %q, want %q", tc.in, lang, got, want)
			}
		}
	}
}

// TestQuantitiesInReaderFormat: the strength and pack size luxncp shows
// for a prescribed item are written as the reader writes numbers, per
// language, while the translated CDA keeps the coded values as sent.
func TestQuantitiesInReaderFormat(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	doc := legacyEP(t, "cz")
	for _, rep := range [][2]string{{`value="500" unit="mg"`, `value="2.5" unit="mg"`}, {`value="24" unit="1"`, `value="10000" unit="1"`}} {
		if !bytes.Contains(doc, []byte(rep[0])) {
			t.Fatalf("fixture changed: no %s", rep[0])
		}
		doc = bytes.Replace(doc, []byte(rep[0]), []byte(rep[1]), 1)
	}
	for lang, want := range map[string][]string{
		"de": {"2,5 mg", "<dt>Abzugebende Menge</dt><dd>2 Packung(en) × 10.000</dd>"},
		"fr": {"2,5 mg", "<dt>Quantité à délivrer</dt><dd>2 boîte(s) × 10\u202f000</dd>"},
		"en": {"2.5 mg", "<dt>Quantity to dispense</dt><dd>2 pack(s) × 10,000</dd>"},
	} {
		page, err := r.HTMLBytes(doc, Options{Lang: lang, SourceCountry: "CZ"})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !bytes.Contains(page, []byte(w)) {
				t.Errorf("%s: page lacks %q", lang, w)
			}
		}
		if lang != "en" && bytes.Contains(page, []byte("2.5 mg")) {
			t.Errorf("%s: page shows the strength as 2.5 mg", lang)
		}
		out, _, err := Translate(doc, catalogue(t), lang)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`value="2.5" unit="mg"`)) || !bytes.Contains(out, []byte(`value="10000" unit="1"`)) {
			t.Errorf("%s: the translated CDA changed a coded value", lang)
		}
	}
}
