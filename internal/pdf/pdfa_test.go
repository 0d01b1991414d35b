package pdf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func run(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testutil.Tool(t, tool), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

func pdftotext(t *testing.T, b []byte) string {
	t.Helper()
	return run(t, "pdftotext", "-enc", "UTF-8", writeTemp(t, b), "-")
}

// multilingual is a document with Czech, Polish, Greek and Cyrillic names.
func multilingual() []byte {
	d := New("Résumé patient – Jiří Dvořák · Ελένη Παπαδοπούλου", "Œuvre – Łódź – Σελίδα")
	d.SetLanguage("fr-LU")
	d.Heading(1, "Patient Summary – Řízení")
	d.KeyValues([][2]string{{"Patient", "Jiří Dvořák"}, {"Ασθενής", "Ελένη Παπαδοπούλου"}, {"Пациент", "Иван Петров"}, {"Pacjent", "Łukasz Żółć"}})
	d.Table([]string{"Substitution", "Produit"}, [][]string{{"non", "Ενάλαπριλη 20 mg"}}, []float64{1, 3})
	// The L1 ePrescription's columns: the narrow last one must not cut its header.
	d.Table([]string{"#", "Produit / Product", "Quantité / Quantity", "Posologie / Dosage", "Validité / Valid", "Renouv. / Repeats", "Substitution"},
		[][]string{{"1", "Paralen 500 mg", "2 x 24", "1 x 3/j", "12/01/2026 – 12/04/2026", "0", "oui / yes"}}, []float64{0.5, 4, 1.5, 3.5, 2, 1.2, 1.5})
	return d.Bytes()
}

// TestPDFA checks the PDF/A-2b markers in the file and, with independent
// tools, that the file is sound (qpdf --check), that every font is
// embedded and subset (pdffonts), that the title metadata reads as written
// (pdfinfo) and that Czech, Polish, Greek and Cyrillic names survive text
// extraction (pdftotext).
func TestPDFA(t *testing.T) {
	b := multilingual()
	for _, want := range []string{"<pdfaid:part>2</pdfaid:part>", "<pdfaid:conformance>B</pdfaid:conformance>",
		"/Type /Metadata /Subtype /XML", "/S /GTS_PDFA1", "/DestOutputProfile", "/FontFile2", "/ToUnicode", "/CIDToGIDMap /Identity", "/ID [<"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no %q in the PDF", want)
		}
	}
	for _, bad := range []string{"/Type1", "/Encrypt", "/JavaScript", "/Transparency", "/SMask"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("%q in a PDF/A file", bad)
		}
	}
	f := writeTemp(t, b)
	run(t, "qpdf", "--check", f)
	fonts := run(t, "pdffonts", f)
	rows := 0
	for _, l := range strings.Split(fonts, "\n")[2:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		rows++
		// name type encoding emb sub uni object ID
		fields := strings.Fields(l)
		if len(fields) < 7 || fields[len(fields)-5] != "yes" || fields[len(fields)-4] != "yes" || fields[len(fields)-3] != "yes" {
			t.Errorf("font not embedded, subset and mapped to Unicode: %s", l)
		}
	}
	if rows != 2 {
		t.Errorf("pdffonts lists %d fonts:\n%s", rows, fonts)
	}
	info := run(t, "pdfinfo", "-enc", "UTF-8", f)
	if !regexp.MustCompile(`Title:\s+Résumé patient – Jiří Dvořák · Ελένη Παπαδοπούλου\n`).MatchString(info) {
		t.Errorf("title metadata garbled:\n%s", info)
	}
	if !strings.Contains(run(t, "pdfinfo", "-meta", f), "<pdfaid:part>2</pdfaid:part>") {
		t.Error("pdfinfo finds no PDF/A identification in the XMP metadata")
	}
	text := pdftotext(t, b)
	for _, want := range []string{"Jiří Dvořák", "Ελένη Παπαδοπούλου", "Иван Петров", "Łukasz Żółć", "Řízení", "Œuvre – Łódź – Σελίδα - 1/1", "Substitution\n", "Renouv."} {
		if !strings.Contains(text, want) {
			t.Errorf("%q lost in extraction:\n%s", want, text)
		}
	}
	if strings.Contains(text, "?") {
		t.Errorf("a character became '?':\n%s", text)
	}
}

// TestFontSubset: the embedded program holds the outlines of the glyphs
// used and no others, and is a font a renderer accepts (Ghostscript draws
// every page without complaint).
func TestFontSubset(t *testing.T) {
	d := New("x", "")
	d.Paragraph("Ab")
	small := d.Bytes()
	if len(small) > 40000 {
		t.Errorf("a two-letter PDF is %d bytes: the fonts are not subset", len(small))
	}
	out := run(t, "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=nullpage", writeTemp(t, multilingual()))
	if strings.TrimSpace(out) != "" {
		t.Errorf("ghostscript complained:\n%s", out)
	}
}
