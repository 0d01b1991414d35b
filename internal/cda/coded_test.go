package cda

import (
	"errors"
	"testing"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/terminology"
)

func render(el *etree.Element) string {
	d := etree.NewDocument()
	d.SetRoot(el)
	s, _ := d.WriteToString()
	return s
}

func TestTranscodeUsage(t *testing.T) {
	term := catalogue(t)
	lu := terminology.Coding{Code: "1991061438", System: OIDLUProduct, Display: "Prednisolone Synth 20 mg comprimés"}
	noATC := terminology.Coding{Code: "2015121545", System: OIDLUProduct, Display: "Préparation homéopathique"}
	tests := []struct {
		name  string
		usage terminology.Usage
		in    terminology.Coding
		text  string
		want  string
		err   bool
	}{
		{"mapped, national code kept", terminology.UsageRequired, lu, "",
			`<c code="H02AB06" codeSystem="2.16.840.1.113883.6.73" codeSystemName="ATC" displayName="prednisolone"><translation code="1991061438" codeSystem="1.3.182.4.13" codeSystemName="Luxembourg medicinal product" displayName="Prednisolone Synth 20 mg comprimés"/></c>`, false},
		{"required miss", terminology.UsageRequired, noATC, "", "", true},
		{"RNFA miss", terminology.UsageRNFA, noATC, "",
			`<c nullFlavor="OTH"><originalText>Préparation homéopathique</originalText><translation code="2015121545" codeSystem="1.3.182.4.13" displayName="Préparation homéopathique"/></c>`, false},
		{"optional without code", terminology.UsageOptional, terminology.Coding{}, "free text", `<c nullFlavor="OTH"><originalText>free text</originalText></c>`, false},
		{"required without code", terminology.UsageRequired, terminology.Coding{}, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Transcode(term, Spec{"x", terminology.VSActiveIngredient, tc.usage}, tc.in, tc.text)
			if tc.err {
				var te *TranscodeError
				if !errors.As(err, &te) || te.Element != "x" || te.Usage != tc.usage {
					t.Fatalf("error %v, want *TranscodeError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			el := etree.NewElement("c")
			SetCoded(el, c)
			if got := render(el); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestHeaderMissing(t *testing.T) {
	h := Header{ID: II{Root: "1.2.3"}}
	if _, err := NewDocument(h, catalogue(t)); !errors.Is(err, ErrMissing) {
		t.Errorf("no patient: %v", err)
	}
	if _, err := BuildL1(h, catalogue(t), nil); !errors.Is(err, ErrMissing) {
		t.Errorf("no pdf: %v", err)
	}
}

func TestNarrativeHelpers(t *testing.T) {
	text := etree.NewElement("text")
	AppendTable(text, []string{"a", "b"}, [][]Cell{{{Text: "x & y", ID: "r1"}, {Text: "<z>"}}})
	AppendParagraph(text, "p", "p1")
	want := `<text><table border="1"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><content ID="r1">x &amp; y</content></td><td>&lt;z&gt;</td></tr></tbody></table><paragraph ID="p1">p</paragraph></text>`
	if got := render(text); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
