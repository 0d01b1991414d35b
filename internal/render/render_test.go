package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
)

var (
	catOnce sync.Once
	cat     *terminology.Catalogue
	catErr  error
)

func catalogue(t testing.TB) *terminology.Catalogue {
	catOnce.Do(func() { cat, catErr = terminology.Load() })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

var created = time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC)

func fixturePS(t testing.TB, cc string) []byte {
	prof, ok := peer.Profile(cc)
	if !ok {
		t.Fatal(cc)
	}
	return peer.BuildPS(prof, 0, created)
}

// englishOnlyPS is the French peer PS with metformin's ingredient code
// (A10BA02, named in German and French) replaced by the ATC group A10B,
// whose only display in the catalogue is the English WHOCC name: a term a
// German reader sees in English, as pages must still mark.
func englishOnlyPS(t testing.TB) []byte {
	t.Helper()
	doc := fixturePS(t, "FR")
	const metformin = `code="A10BA02"`
	if !bytes.Contains(doc, []byte(metformin)) {
		t.Fatal("fixture changed: no metformin in the French PS")
	}
	return bytes.ReplaceAll(doc, []byte(metformin), []byte(`code="A10B"`))
}

func TestTranslate(t *testing.T) {
	tests := []struct {
		name, lang string
		want       []string // translated displays expected
	}{
		{"fr", "fr", []string{"Hypertension essentielle (primitive)", "Comprimé", "Voie orale", "metformine"}},
		{"de", "de", []string{"Essentielle (primäre) Hypertonie", "Tablette", "zum Einnehmen", "Metformin"}},
		{"en", "en", []string{"Essential (primary) hypertension"}},
	}
	src := fixturePS(t, "FR")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, rep, err := Translate(src, catalogue(t), tc.lang)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(out, []byte(`displayName="`+w+`"`)) {
					t.Errorf("no %q in the translation", w)
				}
			}
			if tc.lang != "en" {
				// The original display is kept beside the translation.
				if !bytes.Contains(out, []byte(`<translation code="I10" codeSystem="1.3.6.1.4.1.12559.11.10.1.3.1.44.2" codeSystemName="ICD-10" displayName="Essential (primary) hypertension"/>`)) {
					t.Error("original display not kept")
				}
				// luxncp's own French peer PS: every coded term in the
				// reader's language (metformin too, issue 23).
				if rep.Translated == 0 || rep.Translated != rep.Terms || len(rep.Untranslated) != 0 {
					t.Errorf("report %+v", rep)
				}
			}
			if bytes.Contains(out, []byte("<ds:Signature")) {
				t.Error("signature kept on a modified document")
			}
			again, _, _ := Translate(src, catalogue(t), tc.lang)
			if !bytes.Equal(out, again) {
				t.Error("translation is not deterministic")
			}
		})
	}
	if _, _, err := Translate([]byte("<x/>"), catalogue(t), "fr"); err == nil {
		t.Error("non-CDA accepted")
	}
	if _, _, err := Translate(src, catalogue(t), "xx"); err == nil {
		t.Error("unknown language accepted")
	}
}

func TestTranslateSamples(t *testing.T) {
	for _, f := range []string{"ps/PT_PS-L3_W8_2-1234.xml", "ps/PT_PS-L3_W8_2-5678.xml", "ep/FI_eP-L3_W7_canesten.xml", "ep/FI_eP-L3_W8_1-1234.xml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(testutil.Shared(t, "reference", "cda", "samples", f))
			if err != nil {
				t.Fatal(err)
			}
			out, rep, err := Translate(b, catalogue(t), "de")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Terms == 0 || len(out) == 0 {
				t.Fatalf("report %+v", rep)
			}
			r, _ := NewRenderer(catalogue(t))
			page, err := r.HTMLBytes(b, Options{Lang: "de"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(page, []byte("<h2")) {
				t.Error("no sections rendered")
			}
		})
	}
}

func TestHTML(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.HTMLBytes(englishOnlyPS(t), Options{Lang: "de", SourceCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<html lang="de">`, "Frankreich (FR)", "12.01.2026", "Camille Dubois", // banner
		"Allergien und Unverträglichkeiten", "Aktuelle Medikation", "Aktuelle Probleme", "Chirurgische Eingriffe", // every section, in German
		"(Allergies et réactions indésirables)",        // the document's own title beside
		"Essentielle (primäre) Hypertonie", "Tablette", // translated terms
		"nicht übersetzt: auf Englisch angezeigt", `data-term-status="english"`, // untranslated note
		"@media print", `scope="col"`,
	} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	testutil.Golden(t, "fr-ps-de.html", page)
	// Narrative cannot inject markup.
	evil := bytes.Replace(fixturePS(t, "FR"), []byte("<th>Substance</th>"), []byte("<th>&lt;script&gt;alert(1)&lt;/script&gt;<script>x</script></th>"), 1)
	page, err = r.HTMLBytes(evil, Options{Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(page, []byte("<script")); n != 1 {
		t.Errorf("%d scripts in the page, want only the page's own", n)
	}
}

// TestContentSecurityPolicy checks that the policy allows exactly the
// page's own style and script, by hash, and nothing inline besides.
func TestContentSecurityPolicy(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.HTMLBytes(fixturePS(t, "FR"), Options{Lang: "fr", SourceCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	csp := r.ContentSecurityPolicy()
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "unsafe-hashes", "http:", "https:", "data:", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("policy allows %s: %s", bad, csp)
		}
	}
	for _, tag := range []string{"style", "script"} {
		_, rest, _ := strings.Cut(string(page), "<"+tag+">")
		body, _, ok := strings.Cut(rest, "</"+tag+">")
		if !ok {
			t.Fatalf("no <%s> in the page", tag)
		}
		sum := sha256.Sum256([]byte(body))
		if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, tag+"-src "+want) {
			t.Errorf("policy %q does not allow the served <%s> (%s)", csp, tag, want)
		}
	}
	if bytes.Contains(page, []byte(" onclick=")) || bytes.Contains(page, []byte(" style=")) {
		t.Error("inline handler or style attribute in the page: the policy blocks it")
	}
}

// TestHTMLInBrowser renders a rich Patient Summary in Debian's chromium
// (headless) and keeps the screenshots in $LUXNCP_SCREENSHOTS (make test:
// under its reports folder, outside the repository; else a temporary
// folder). Chromium is
// installed by scripts/install-test-tools; its absence fails the test.
func TestHTMLInBrowser(t *testing.T) {
	bin := testutil.Tool(t, "chromium")
	r, _ := NewRenderer(catalogue(t))
	b, err := os.ReadFile(testutil.Shared(t, "reference", "cda", "samples", "ps", "PT_PS-L3_W8_2-1234.xml"))
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("LUXNCP_SCREENSHOTS")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		lang string
	}{{"pt-ps-fr", b, "fr"}, {"fr-ps-de", fixturePS(t, "FR"), "de"},
		{"pt-ps-de", b, "de"}, {"pt-ps-en", b, "en"}, {"cz-ep-de", legacyEP(t, "cz"), "de"}, {"gr-ep-fr", legacyEP(t, "gr"), "fr"}} {
		page, err := r.HTMLBytes(tc.doc, Options{Lang: tc.lang, SourceCountry: strings.ToUpper(tc.name[:2])})
		if err != nil {
			t.Fatal(err)
		}
		html := filepath.Join(out, tc.name+".html")
		png := filepath.Join(out, tc.name+".png")
		_ = os.Remove(png)
		if err := os.WriteFile(html, page, 0o644); err != nil {
			t.Fatal(err)
		}
		cout := chromium(t, bin, true, "--screenshot="+png, "--window-size=1280,2000", "file://"+html)
		shot, err := os.ReadFile(png)
		if err != nil {
			t.Fatalf("no screenshot: %v\n%s", err, cout)
		}
		if len(shot) < 1000 || !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("screenshot is not a PNG (%d bytes)", len(shot))
		}
		t.Logf("screenshot %s (%d bytes)", png, len(shot))
	}
}

// TestHostileTextInBrowser renders a Patient Summary whose title, narrative
// and codes carry script and HTML payloads as text (what the hardened
// reader lets through), has chromium run the page and dump its DOM, and
// checks that no payload ran or became markup.
func TestHostileTextInBrowser(t *testing.T) {
	bin := testutil.Tool(t, "chromium")
	r, _ := NewRenderer(catalogue(t))
	const act = "document.title='PWNED'"
	payloads := []string{"&lt;script&gt;" + act + "&lt;/script&gt;", "&lt;img src=x onerror=\"" + act + "\"&gt;",
		"&lt;svg onload=\"" + act + "\"/&gt;", "&lt;a href=\"javascript:" + act + "\"&gt;x&lt;/a&gt;"}
	doc := fixturePS(t, "FR")
	for _, p := range payloads {
		doc = bytes.Replace(doc, []byte("<title>"), []byte("<title>"+p), 1)
		doc = bytes.Replace(doc, []byte("<th>Substance</th>"), []byte("<th>"+p+"</th>"), 1)
		doc = bytes.Replace(doc, []byte(`displayName="`), []byte(`displayName="`+strings.ReplaceAll(p, `"`, "&quot;")), 1)
	}
	page, err := r.HTMLBytes(doc, Options{Lang: "fr", SourceCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(t.TempDir(), "hostile.html")
	if err := os.WriteFile(html, page, 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chromium(t, bin, false, "--virtual-time-budget=2000", "--dump-dom", "file://"+html)
	if !bytes.Contains(dom, []byte("</html>")) {
		t.Fatalf("no DOM dumped: %.300s", dom)
	}
	for _, bad := range []string{"<title>PWNED", "<img", "<svg", `<a href="javascript:`, "<script>document.title"} {
		if bytes.Contains(dom, []byte(bad)) {
			t.Errorf("the DOM chromium built contains %q: a payload ran or became markup", bad)
		}
	}
}

// chromium runs headless chromium with args and returns its standard
// output (with standard error when combined).
func chromium(t *testing.T, bin string, combined bool, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir()}, args...)...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		if combined {
			out, err = cmd.CombinedOutput()
		} else {
			out, err = cmd.Output()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("chromium hung")
	}
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	return out
}

func BenchmarkTranslatePSFrench(b *testing.B) {
	src, err := os.ReadFile(testutil.Shared(b, "reference", "cda", "samples", "ps", "PT_PS-L3_W8_2-1234.xml"))
	if err != nil {
		b.Fatal(err)
	}
	c := catalogue(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	start := cpuTime()
	for b.Loop() {
		if _, _, err := Translate(src, c, "fr"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkRenderRichPS(b *testing.B) {
	src, err := os.ReadFile(testutil.Shared(b, "reference", "cda", "samples", "ps", "PT_PS-L3_W8_2-1234.xml"))
	if err != nil {
		b.Fatal(err)
	}
	r, _ := NewRenderer(catalogue(b))
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	start := cpuTime()
	for b.Loop() {
		if _, err := r.HTMLBytes(src, Options{Lang: "de", SourceCountry: "PT"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func FuzzHTML(f *testing.F) {
	f.Add(peer.BuildPS(mustProfile("FR"), 0, created))
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody><component><section><text><table><tr><td>x</td></tr></table></text></section></component></structuredBody></component></ClinicalDocument>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := NewRenderer(catalogue(t))
		page, err := r.HTMLBytes(b, Options{Lang: "fr"})
		if err == nil && bytes.Count(page, []byte("<script")) != 1 {
			t.Fatal("script in page")
		}
	})
}

func mustProfile(cc string) peer.Country {
	p, _ := peer.Profile(cc)
	return p
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// legacyEP is a synthetic pre-2022 epSOS-namespace ePrescription (the
// Czech one's narrative is only a barcode).
func legacyEP(t testing.TB, cc string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "countryb", "testdata", "legacy", cc+"-ep-epsos.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClinicianView: everything luxncp adds to the page is in the
// reader's language — country, gender, dates, section titles — and an
// ePrescription whose narrative is only a barcode still shows what a
// pharmacist dispenses from: strength, dose form, dose and frequency,
// route, quantity with the pack size, validity and substitution.
func TestClinicianView(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang       string
		want, lack []string
	}{
		{"de", []string{`data-field="country">Tschechien (CZ)`, `data-field="gender">Männlich`, `data-field="birth">01.01.1980`, ">10.01.2026 09:30<",
			"Verordnung", "<dt>Stärke</dt><dd>", "500 mg", "<dt>Darreichungsform</dt>", "alle 8 Stunden", "<dt>Abzugebende Menge</dt><dd>2 Packung(en) × 24</dd>",
			"<dt>Gültig</dt><dd>10.01.2026 – 09.02.2026</dd>", "<dt>Austausch (aut idem)</dt><dd>nicht erlaubt</dd>"}, []string{"CZ (CZ)", "Muž"}},
		{"fr", []string{`data-field="country">Tchéquie (CZ)`, `data-field="gender">Masculin`, `data-field="birth">01/01/1980`,
			"<dt>Quantité à délivrer</dt><dd>2 boîte(s) × 24</dd>", "<dt>Validité</dt><dd>10/01/2026 – 09/02/2026</dd>", "<dt>Substitution</dt><dd>non autorisée</dd>", "toutes les 8 heures"}, nil},
		{"en", []string{`data-field="country">Czechia (CZ)`, `data-field="gender">Male`, "<dt>Substitution</dt><dd>not allowed</dd>", "<dt>Quantity to dispense</dt><dd>2 pack(s) × 24</dd>"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			page, err := r.HTMLBytes(legacyEP(t, "cz"), Options{Lang: tc.lang, SourceCountry: "CZ"})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(page, []byte(w)) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.lack {
				if bytes.Contains(page, []byte(w)) {
					t.Errorf("page shows %q", w)
				}
			}
		})
	}
	// A Patient Summary leads with allergies and current medication.
	page, err := r.HTMLBytes(fixturePS(t, "FR"), Options{Lang: "de", SourceCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`id="h0">Allergien`, `id="h1">Aktuelle Medikation`, `id="h2">Aktuelle Probleme`} {
		if !bytes.Contains(page, []byte(w)) {
			t.Errorf("sections not in clinical order: no %q", w)
		}
	}
}

// TestHiddenCharacters: bidi overrides, isolates, zero-width and C1
// control characters in a signed PS and eP (the patient's name, a coded
// display, the narrative) never reach the page, the dosage written to
// display reversed reads in logical order, and a 5 000-character title is
// cut with a visible mark.
func TestHiddenCharacters(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	prof := mustProfile("FR")
	for name, doc := range map[string][]byte{"PS": fixturePS(t, "FR"), "EP": peer.BuildEP(prof, 0, 0, created)} {
		for _, lang := range Languages {
			page, err := r.HTMLBytes(peer.Bidi(doc), Options{Lang: lang, SourceCountry: "FR"})
			if err != nil {
				t.Fatal(err)
			}
			s := string(page)
			if i := strings.IndexAny(s, peer.Hidden); i >= 0 {
				t.Errorf("%s %s: hidden character %q in the page: …%s…", name, lang, []rune(s[i:])[0], s[max(i-80, 0):min(i+80, len(s))])
			}
			if !strings.Contains(s, peer.BidiDoseShown) {
				t.Errorf("%s %s: the dosage does not read %q", name, lang, peer.BidiDoseShown)
			}
			if !strings.Contains(s, "Camille") || !strings.Contains(s, "siobud live") {
				t.Errorf("%s %s: patient name lost", name, lang)
			}
			h1 := s[strings.Index(s, "<h1>"):strings.Index(s, "</h1>")]
			if len(h1) > 600 || !strings.Contains(h1, "… [truncated from") {
				t.Errorf("%s %s: title not cut (%d bytes): %.200s", name, lang, len(h1), h1)
			}
		}
	}
}

// TestNotesInReaderLanguage: luxncp's own warnings come in the reader's
// language, never in English in a French or German page.
func TestNotesInReaderLanguage(t *testing.T) {
	r, err := NewRenderer(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	notes := []Note{{Key: NoteUnsigned, Args: []string{"FR"}}, {Key: NoteFutureDate, Args: []string{"29990101"}},
		{Key: NoteOldDate, Args: []string{"18500101"}}, {Key: NoteBadDate, Args: []string{"2026-13"}},
		{Key: NoteNoTemplate, Args: []string{"1.3.6.1.4.1.12559.11.10.1.3.1.1.3"}}, {Key: NoteWrongClass, Args: []string{"60591-5"}},
		{Key: NoteNoTitle}, {Key: NoteNoDate}}
	for _, lang := range Languages {
		for _, n := range notes {
			if _, ok := uiLabels[lang].Notes[n.Key]; !ok {
				t.Errorf("%s: no text for note %s", lang, n.Key)
			}
		}
	}
	english := []string{"this document is not signed", "origin and integrity", "the document is dated", "in the future",
		"implausibly long ago", "is not a date", "does not declare", "does not match", "has no title", "has no date", "Warning"}
	for _, lang := range []string{"de", "fr"} {
		page, err := r.HTMLBytes(fixturePS(t, "FR"), Options{Lang: lang, SourceCountry: "FR", Notes: notes})
		if err != nil {
			t.Fatal(err)
		}
		s := html.UnescapeString(string(page))
		for _, en := range english {
			if strings.Contains(s, en) {
				t.Errorf("%s page has English %q", lang, en)
			}
		}
		for _, n := range notes {
			if !strings.Contains(s, uiLabels[lang].Warning+":</strong> "+n.Text(lang)) {
				t.Errorf("%s page lacks the note %q", lang, n.Text(lang))
			}
		}
	}
	if got := (Note{Key: NoteFutureDate, Args: []string{"29990101"}}).Text("de"); got != "das Dokument ist auf den 01.01.2999 datiert, ein Datum in der Zukunft" {
		t.Errorf("de future date: %q", got)
	}
}
