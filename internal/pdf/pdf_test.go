package pdf

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func sample() *Document {
	d := New("Ordonnance – Prescription", "luxncp test")
	d.Heading(1, "Ordonnance électronique (ePrescription)")
	d.KeyValues([][2]string{{"Patient", "Émilie Müller-Schäfer"}, {"Né(e) le", "1985-03-12"}, {"Adresse", "12, rue de la Gare, L-1611 Luxembourg"}})
	d.Paragraph("Paracétamol 500 mg – 1 comprimé (\\ toutes les 6 heures) si douleur; Größe ÄÖÜ äöü ß € œ.")
	d.Rule()
	rows := make([][]string, 0, 80)
	for i := range 80 {
		rows = append(rows, []string{strconv.Itoa(i + 1), "Produit numéro " + strconv.Itoa(i), "1 boîte de 30 comprimés pelliculés, voie orale, pendant trois mois sans interruption"})
	}
	d.Table([]string{"#", "Produit", "Posologie"}, rows, []float64{1, 4, 6})
	return d
}

// TestStructure parses the file's own cross-reference table and checks every
// offset, the stream lengths and the trailer.
func TestStructure(t *testing.T) {
	d := sample()
	b := d.Bytes()
	if d.Pages() < 2 {
		t.Fatalf("expected the long table to need several pages, got %d", d.Pages())
	}
	if !bytes.HasPrefix(b, []byte("%PDF-1.7\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatal("bad header or trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(b[xref:]), "\n")
	var count int
	fmt.Sscanf(lines[1], "0 %d", &count)
	if want := 6 + 10 + 2*d.Pages() + 1; count != want {
		t.Fatalf("xref size %d, want %d", count, want)
	}
	for i := 1; i < count; i++ {
		entry := lines[2+i]
		if len(entry) != 19 { // 20 bytes with the newline
			t.Fatalf("xref entry %d has length %d", i, len(entry))
		}
		off, _ := strconv.Atoi(entry[:10])
		want := fmt.Sprintf("%d 0 obj\n", i)
		if !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("xref entry %d -> offset %d does not start %q", i, off, want)
		}
	}
	// stream lengths
	re := regexp.MustCompile(`/Length (\d+) >>\nstream\n`)
	for _, loc := range re.FindAllSubmatchIndex(b, -1) {
		n, _ := strconv.Atoi(string(b[loc[2]:loc[3]]))
		if !bytes.HasPrefix(b[loc[1]+n:], []byte("\nendstream")) {
			t.Errorf("stream at %d: /Length %d is wrong", loc[0], n)
		}
	}
	if !bytes.Contains(b, []byte(fmt.Sprintf("/Count %d", d.Pages()))) {
		t.Error("page count missing")
	}
}

func TestTextAndEncoding(t *testing.T) {
	text := pdftotext(t, sample().Bytes())
	for _, want := range []string{"Émilie Müller-Schäfer", "Ordonnance électronique", "Größe ÄÖÜ äöü ß € œ.", "(\\ toutes", "Produit numéro 79", "luxncp test - 1/"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q not found in the PDF", want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	if !bytes.Equal(sample().Bytes(), sample().Bytes()) {
		t.Fatal("same input gave different bytes")
	}
}

func TestWrap(t *testing.T) {
	d := New("", "")
	lines := d.wrap("aaaa bbbb cccc", d.width("aaaa bbbb", 10, false)+0.1, 10, false)
	if len(lines) != 2 || lines[0] != "aaaa bbbb" || lines[1] != "cccc" {
		t.Fatalf("wrap = %q", lines)
	}
	long := d.wrap(strings.Repeat("x", 200), 100, 10, false)
	for _, l := range long {
		if d.width(l, 10, false) > 100 {
			t.Fatalf("line %q wider than 100", l)
		}
	}
	// A long compound breaks after its hyphen, not in the middle of a word.
	lines = d.wrap("Substitution-autorisée", d.width("Substitution-autori", 10, false), 10, false)
	if len(lines) != 2 || lines[0] != "Substitution-" {
		t.Fatalf("wrap = %q", lines)
	}
}

func BenchmarkPDF(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = sample().Bytes()
	}
}
