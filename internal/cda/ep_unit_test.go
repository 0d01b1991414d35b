package cda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
)

// multiItem merges the MedicationRequest and Medication entries of several
// fixtures into the Bundle of the first: a prescription with several items.
func multiItem(t testing.TB, ids ...string) []byte {
	t.Helper()
	var base map[string]any
	if err := json.Unmarshal(readFixture(t, ids[0]), &base); err != nil {
		t.Fatal(err)
	}
	entries := base["entry"].([]any)
	for _, id := range ids[1:] {
		var b map[string]any
		if err := json.Unmarshal(readFixture(t, id), &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			if rt := r["resourceType"]; rt == "MedicationRequest" || rt == "Medication" {
				entries = append(entries, e)
			}
		}
	}
	base["entry"] = entries
	out, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEPMultiItem(t *testing.T) {
	b := multiItem(t, "ep-0017", "ep-0016", "ep-0018", "ep-0019", "ep-0020")
	if _, err := BuildEP(b, epOpts(t, "ep-0017", "L3")); !errors.Is(err, ErrSeveralItems) {
		t.Fatalf("BuildEP on 5 items: %v, want ErrSeveralItems", err)
	}
	if _, err := BuildEPL1(b, epOpts(t, "ep-0017", "L1")); !errors.Is(err, ErrSeveralItems) {
		t.Fatalf("BuildEPL1 on 5 items: %v, want ErrSeveralItems", err)
	}
	p, err := ParsePrescription(b)
	if err != nil {
		t.Fatal(err)
	}
	parts := p.Split()
	if len(parts) != 5 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, part := range parts {
		want := []string{"rx-0017", "rx-0016", "rx-0018", "rx-0019", "rx-0020"}[i]
		l3, err := BuildEPFrom(part, epOpts(t, want, "L3"))
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(l3); err != nil {
			t.Fatal(err)
		}
		sas := doc.FindElements("//substanceAdministration")
		if len(sas) != 1 {
			t.Fatalf("%d substanceAdministration entries, want 1", len(sas))
		}
		if got := sas[0].SelectElement("id").SelectAttrValue("extension", ""); got != want {
			t.Errorf("part %d id %s, want %s", i, got, want)
		}
		if doc.FindElement("//relatedDocument/parentDocument/id").SelectAttrValue("extension", "") != "ep-0017" {
			t.Errorf("part %d: parent document is not the prescription", i)
		}
		ref := sas[0].FindElement("text/reference").SelectAttrValue("value", "")
		if doc.FindElement("//content[@ID='"+strings.TrimPrefix(ref, "#")+"']") == nil {
			t.Errorf("part %d references %s, which the narrative lacks", i, ref)
		}
	}
}

type failingTerm struct{ Terminology }

func (f failingTerm) Transcode(vs string, c terminology.Coding) (terminology.Transcoded, error) {
	if vs == terminology.VSDoseForm || vs == terminology.VSActiveIngredient {
		return terminology.Transcoded{}, errors.New("no mapping")
	}
	return f.Terminology.Transcode(vs, c)
}

func TestEPErrors(t *testing.T) {
	good := readFixture(t, "ep-0001")
	opts := epOpts(t, "ep-0001", "L3")
	tests := []struct {
		name   string
		bundle []byte
		opts   EPOptions
		check  func(error) bool
	}{
		{"not json", []byte("{"), opts, isInput},
		{"not a bundle", []byte(`{"resourceType":"Patient"}`), opts, isInput},
		{"no request", []byte(`{"resourceType":"Bundle","identifier":{"system":"urn:oid:1.2","value":"x"},"entry":[]}`), opts, isInput},
		{"no identifier", bytes.Replace(good, []byte(`"identifier": {`), []byte(`"identifierX": {`), 1), opts, isInput},
		{"no matricule", bytes.ReplaceAll(good, []byte("urn:oid:1.3.182.4.4"), []byte("urn:oid:9.9")), opts, isInput},
		{"cancelled", readFixture(t, "ep-0010"), opts, func(err error) bool { return errors.Is(err, ErrNoRenderableItem) }},
		{"dose form not transcodable", good, EPOptions{DocumentID: opts.DocumentID, EffectiveTime: opts.EffectiveTime, Custodian: opts.Custodian, Terminology: failingTerm{catalogue(t)}},
			func(err error) bool {
				var te *TranscodeError
				return errors.As(err, &te) && te.ValueSet == terminology.VSDoseForm && te.Code.Code == "10219000" && EPFault(err).Code == ehdsi.ErrEPMissingExpectedMapping
			}},
		{"no document id", good, EPOptions{EffectiveTime: opts.EffectiveTime, Custodian: opts.Custodian, Terminology: catalogue(t)}, isInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildEP(tc.bundle, tc.opts)
			if err == nil || !tc.check(err) {
				t.Fatalf("unexpected error %v", err)
			}
			// L1 carries no coded product: only input errors stop it.
			if _, err := BuildEPL1(tc.bundle, tc.opts); (err == nil) != (tc.name == "dose form not transcodable") {
				t.Fatalf("L1: %v", err)
			}
		})
	}
}

func isInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie) && EPFault(err).Code == ehdsi.ErrEPMissingRequiredFields
}

func TestEPNoATC(t *testing.T) {
	l3, err := BuildEP(readFixture(t, "ep-0006"), epOpts(t, "ep-0006", "L3"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(l3)
	c := doc.FindElement("//pharm:generalizedMaterialKind/pharm:code")
	if c.SelectAttrValue("nullFlavor", "") != "OTH" {
		t.Errorf("ATC of a product without one: %v", c.Attr)
	}
	if tr := c.SelectElement("translation"); tr == nil || tr.SelectAttrValue("code", "") != "2015121545" {
		t.Error("national product code not kept as translation")
	}
	if c.SelectElement("originalText") == nil {
		t.Error("no originalText")
	}
}

func TestEPL1(t *testing.T) {
	l1, err := BuildEPL1(readFixture(t, "ep-0002"), epOpts(t, "ep-0002", "L1"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(l1); err != nil {
		t.Fatal(err)
	}
	if doc.FindElement("//templateId[@root='"+ehdsi.TemplateEPL1+"']") == nil {
		t.Error("no L1 templateId")
	}
	txt := doc.FindElement("//nonXMLBody/text")
	if txt.SelectAttrValue("mediaType", "") != "application/pdf" || txt.SelectAttrValue("representation", "") != "B64" {
		t.Errorf("nonXMLBody text attributes %v", txt.Attr)
	}
	pdf, err := base64.StdEncoding.DecodeString(txt.Text())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.7")) || !bytes.Contains(pdf, []byte("<pdfaid:part>2</pdfaid:part>")) {
		t.Error("the L1 PDF is not PDF/A-2")
	}
	f := filepath.Join(t.TempDir(), "ep.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testutil.Tool(t, "pdftotext"), "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"Augmentin 500 mg/125 mg", "Claire Dubois", "Substitution\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF text lacks %q:\n%s", want, text)
		}
	}
	if iso := regexp.MustCompile(`\d{4}-\d\d-\d\d(T|\b)`).FindString(text); iso != "" {
		t.Errorf("the PDF prints a raw ISO date %q:\n%s", iso, text)
	}
}

func TestSummary(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		id          string
		dispensed   map[string]int
		now         time.Time
		dispensable bool
		reason      Reason
	}{
		{"ep-0001", nil, now, true, ReasonNone},
		{"ep-0008", nil, now, false, ReasonCompleted},
		{"ep-0009", nil, now, false, ReasonExpired},
		{"ep-0010", nil, now, false, ReasonCancelled},
		{"ep-0026", nil, now, false, ReasonStopped},
		{"ep-0001", map[string]int{"rx-0001": 1}, now, false, ReasonNoRepeats},
		{"ep-0003", map[string]int{"rx-0003": 5}, now, true, ReasonNone},
		{"ep-0003", map[string]int{"rx-0003": 6}, now, false, ReasonNoRepeats},
		{"ep-0001", nil, time.Date(2027, 2, 16, 23, 59, 0, 0, time.UTC), true, ReasonNone}, // last day of validity
		{"ep-0001", nil, time.Date(2027, 2, 17, 0, 0, 0, 0, time.UTC), false, ReasonExpired},
		{"ep-0001", nil, time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), false, ReasonNotYetValid},
	}
	for _, tc := range tests {
		s, err := Summarize(readFixture(t, tc.id), tc.now, tc.dispensed)
		if err != nil {
			t.Fatal(err)
		}
		if s.Dispensable != tc.dispensable || s.Reason != tc.reason {
			t.Errorf("%s %v at %s: dispensable %v reason %q, want %v %q", tc.id, tc.dispensed, tc.now, s.Dispensable, s.Reason, tc.dispensable, tc.reason)
		}
		if !tc.dispensable && s.Why() == "" {
			t.Errorf("%s: no explanation", tc.id)
		}
	}
	s, _ := Summarize(readFixture(t, "ep-0002"), now, nil)
	if s.ID != (II{"1.3.182.2.12.10000734.6.1.100", "ep-0002"}) || s.Matricule != "1983030506626" ||
		s.Description != "Augmentin 500 mg/125 mg comprimés pelliculés" || s.Author != "Dr Marc Hoffmann (Cabinet médical Hoffmann)" ||
		!s.Created.Equal(time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)) || len(s.Items) != 1 || s.Items[0].ID.Extension != "rx-0002" {
		t.Errorf("summary %+v", s)
	}
}

func TestEPFault(t *testing.T) {
	if EPFault(&TranscodeError{}).Code != ehdsi.ErrEPMissingExpectedMapping ||
		EPFault(missing("x")).Code != ehdsi.ErrEPMissingRequiredFields ||
		EPFault(errors.New("boom")).Code != ehdsi.ErrEPInternalError {
		t.Error("EPFault codes")
	}
}

func TestDateTS(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "2024": "2024", "2024-03": "202403", "2024-03-05": "20240305", "2024-3-5": "",
		"2024-03-05T10:00:00+01:00": "20240305100000+0100", "2024-03-05T10:00:00": "20240305100000", "x": "",
	} {
		if got := DateTS(in); got != want {
			t.Errorf("DateTS(%q) = %q, want %q", in, got, want)
		}
	}
	for in, ok := range map[string]bool{"20250404122129+0100": true, "20250320134355": true, "2025": true, "20250404122129.123+0100": true, "2025040412212": false, "20250404122129+01": false, "": false} {
		if _, got := ParseTS(in); got != ok {
			t.Errorf("ParseTS(%q) ok = %v", in, got)
		}
	}
}

func FuzzParsePrescription(f *testing.F) {
	for _, id := range []string{"ep-0001", "ep-0004", "ep-0006"} {
		f.Add(readFixture(f, id))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePrescription(data)
		if err != nil {
			return
		}
		_ = p.Summary(time.Unix(0, 0), nil)
		_, _ = BuildEPFrom(p, epOpts(t, "fuzz", "L3"))
	})
}

func benchEP(b *testing.B, bundle []byte) {
	opts := epOpts(b, "bench", "L3")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildEP(bundle, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildEP1Item(b *testing.B) { benchEP(b, readFixture(b, "ep-0002")) }

// BenchmarkBuildEP5Items: a 5-item national prescription, parsed once and
// split into its 5 eHDSI ePrescriptions.
func BenchmarkBuildEP5Items(b *testing.B) {
	bundle := multiItem(b, "ep-0017", "ep-0016", "ep-0018", "ep-0019", "ep-0020")
	opts := epOpts(b, "bench", "L3")
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParsePrescription(bundle)
		if err != nil {
			b.Fatal(err)
		}
		for _, part := range p.Split() {
			if _, err := BuildEPFrom(part, opts); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkBuildEPL1(b *testing.B) {
	bundle, opts := readFixture(b, "ep-0002"), epOpts(b, "bench", "L1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildEPL1(bundle, opts); err != nil {
			b.Fatal(err)
		}
	}
}
