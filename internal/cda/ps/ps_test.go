package ps

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
)

var (
	catOnce sync.Once
	cat     *terminology.Catalogue
	catErr  error
)

func catalogue(t testing.TB) *terminology.Catalogue {
	t.Helper()
	catOnce.Do(func() { cat, catErr = terminology.Load() })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

// readFixture reads a national fixture file with the reader its extension names.
func readFixture(t testing.TB, path string) *Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s *Summary
	if strings.HasSuffix(path, ".xml") {
		s, err = ReadLUCDA(b, Limits{})
	} else {
		s, err = ReadFHIR(b, Limits{})
	}
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return s
}

func fixtureFiles(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(fixtureDir(t), "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, ".xml") || strings.HasSuffix(f, ".json") {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatal("no Patient Summary fixtures")
	}
	return out
}

// TestConformance builds L3 and L1 for every demo Patient Summary and
// validates them all in one validate-cda call (XSD + eHDSI schematron).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("validate-cda takes minutes; skipped with -short")
	}
	c := catalogue(t)
	dir := t.TempDir()
	var files []string
	xmls, jsons := 0, 0
	for _, f := range fixtureFiles(t) {
		s := readFixture(t, f)
		if strings.HasSuffix(f, ".xml") {
			xmls++
		} else {
			jsons++
		}
		base := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)) + "-" + strings.TrimPrefix(filepath.Ext(f), ".")
		for _, lvl := range []struct {
			name  string
			build func(*Summary, Options) (*Document, error)
		}{{"L3", Build}, {"L1", BuildL1}} {
			d, err := lvl.build(s, Options{Terminology: c})
			if err != nil {
				t.Fatalf("%s %s: %v", filepath.Base(f), lvl.name, err)
			}
			out := filepath.Join(dir, base+"-"+lvl.name+".xml")
			if err := os.WriteFile(out, d.XML, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, out)
		}
	}
	// The real national sample in shared/ (2017) goes through too.
	sample, err := os.ReadFile(testutil.Shared(t, "reference", "cda", "samples", "lu-national", "LU_national-PS_1990010112385.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := ReadLUCDA(sample, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for lvl, build := range map[string]func(*Summary, Options) (*Document, error){"L3": Build, "L1": BuildL1} {
		d, err := build(ss, Options{Terminology: c})
		if err != nil {
			t.Fatalf("shared sample %s: %v", lvl, err)
		}
		out := filepath.Join(dir, "shared-sample-"+lvl+".xml")
		if err := os.WriteFile(out, d.XML, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, out)
	}
	if xmls < 5 || jsons < 5 {
		t.Fatalf("fixtures: %d LU CDA, %d FHIR; want at least 5 of each", xmls, jsons)
	}
	testutil.ValidateCDA(t, files...)
}

// golden patients: rich history (FHIR and LU CDA), minimal / no information,
// drug allergy, implanted device, current pregnancy, many medications.
var goldens = []struct{ name, file string }{
	{"rich-fhir", "1958041200856.json"},
	{"rich-lucda", "1944093024127.xml"},
	{"minimal-noinfo-fhir", "1954012012883.json"},
	{"minimal-noknown-lucda", "1960061226304.xml"},
	{"drug-allergy-lucda", "1975022804761.xml"},
	{"drug-allergy-fhir", "1994022727854.json"},
	{"implanted-device-fhir", "1950071705239.json"},
	{"pregnant-fhir", "1992061503442.json"},
	{"many-medications-lucda", "1941090302146.xml"},
}

func TestGolden(t *testing.T) {
	c := catalogue(t)
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			s := readFixture(t, filepath.Join(fixtureDir(t), g.file))
			d, err := Build(s, Options{Terminology: c})
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, g.name+".xml", d.XML)
		})
	}
}

// TestDeterministic: the same national data gives the same id and bytes,
// rebuilt or re-read; different data gives a different id.
func TestDeterministic(t *testing.T) {
	c := catalogue(t)
	ids := map[string]string{}
	for _, f := range fixtureFiles(t) {
		a, err := Build(readFixture(t, f), Options{Terminology: c})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Build(readFixture(t, f), Options{Terminology: c})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != b.ID || !bytes.Equal(a.XML, b.XML) {
			t.Errorf("%s: two builds differ", filepath.Base(f))
		}
		l1a, _ := BuildL1(readFixture(t, f), Options{Terminology: c})
		l1b, _ := BuildL1(readFixture(t, f), Options{Terminology: c})
		if !bytes.Equal(l1a.XML, l1b.XML) || l1a.ID == a.ID || l1a.Hash != a.Hash {
			t.Errorf("%s: L1 not deterministic or shares the L3 id", filepath.Base(f))
		}
		if prev, dup := ids[a.ID.Extension]; dup {
			t.Errorf("%s and %s have the same document id", prev, f)
		}
		ids[a.ID.Extension] = f
	}
	s := readFixture(t, filepath.Join(fixtureDir(t), "1958041200856.json"))
	before, _ := Build(s, Options{Terminology: c})
	s.Problems[0].Onset = "2012-04-21"
	after, _ := Build(s, Options{Terminology: c})
	if before.ID == after.ID {
		t.Error("changed national data kept the same document id")
	}
}

// TestRoundTrip: the fixture writers and the readers agree (what the
// generator put in is what the readers get out, entry by entry).
func TestRoundTrip(t *testing.T) {
	sums := fixtureSummaries(t)
	for _, f := range fixtures {
		want := sums[f.pid]
		got := readFixture(t, filepath.Join(fixtureDir(t), fixtureName(want, f.format)))
		count := func(s *Summary) []int {
			p := 0
			if s.Pregnancy != nil {
				p = 1
			}
			return []int{len(s.Allergies), len(s.Medications), len(s.Problems), len(s.PastIllnesses), len(s.Procedures), len(s.Devices),
				len(s.Immunizations), len(s.VitalSigns), len(s.Results), len(s.Social), len(s.Functional), len(s.CarePlan), len(s.Directives), p}
		}
		if g, w := count(got), count(want); !equalInts(g, w) {
			t.Errorf("%s (%s): entries %v, want %v", f.pid, f.format, g, w)
			continue
		}
		if got.Patient.IDs[0] != want.Patient.IDs[0] || got.Patient.Birth != want.Patient.Birth || got.Patient.Name.Family != want.Patient.Name.Family {
			t.Errorf("%s: patient %+v, want %+v", f.pid, got.Patient, want.Patient)
		}
		if !got.Created.Equal(want.Created) {
			t.Errorf("%s: created %v, want %v", f.pid, got.Created, want.Created)
		}
		for i := range want.Medications {
			if got.Medications[i].Product.Code != want.Medications[i].Product.Code || got.Medications[i].Start != want.Medications[i].Start ||
				got.Medications[i].PeriodValue != want.Medications[i].PeriodValue {
				t.Errorf("%s: medication %d = %+v, want %+v", f.pid, i, got.Medications[i], want.Medications[i])
			}
		}
		for i := range want.Problems {
			if got.Problems[i].Code.Code != want.Problems[i].Code.Code || got.Problems[i].Onset != want.Problems[i].Onset {
				t.Errorf("%s: problem %d = %+v, want %+v", f.pid, i, got.Problems[i], want.Problems[i])
			}
		}
		for i := range want.Allergies {
			if got.Allergies[i].Agent.Code != want.Allergies[i].Agent.Code || got.Allergies[i].Reaction.Code != want.Allergies[i].Reaction.Code ||
				got.Allergies[i].Severity.Code != want.Allergies[i].Severity.Code {
				t.Errorf("%s: allergy %d = %+v, want %+v", f.pid, i, got.Allergies[i], want.Allergies[i])
			}
		}
		for _, x := range [][2]string{{got.AllergiesAbsent, want.AllergiesAbsent}, {got.MedicationsAbs, orDefault(want.MedicationsAbs, got.MedicationsAbs)}, {got.ProblemsAbsent, orDefault(want.ProblemsAbsent, got.ProblemsAbsent)}} {
			if x[1] != "" && x[0] != x[1] {
				t.Errorf("%s: absent %q, want %q", f.pid, x[0], x[1])
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRichEnough: the rich-history fixtures have at least 40 entries.
func TestRichEnough(t *testing.T) {
	for _, f := range []string{"1958041200856.json", "1944093024127.xml"} {
		if n := readFixture(t, filepath.Join(fixtureDir(t), f)).Entries(); n < 40 {
			t.Errorf("%s: %d entries, want ≥ 40", f, n)
		}
	}
}

// TestTranscodingFailure: a required coded element that cannot be
// transcoded fails the document with the eHDSI code; an optional one keeps
// its original text and a nullFlavor.
func TestTranscodingFailure(t *testing.T) {
	c := catalogue(t)
	base := func() *Summary {
		return readFixture(t, filepath.Join(fixtureDir(t), "1994022727854.json"))
	}
	tests := []struct {
		name    string
		mutate  func(*Summary)
		wantErr bool
		want    string // substring of the document when it succeeds
	}{
		{"problem code unknown, no text", func(s *Summary) { s.Problems[0] = Problem{Code: Coding{Code: "X99.9", System: "1.2.3.4.5"}} }, true, ""},
		{"problem code unknown, with text", func(s *Summary) {
			s.Problems[0] = Problem{Code: Coding{Code: "X99.9", System: "1.2.3.4.5", Display: "Maladie rare locale"}}
		}, false, `<originalText>Maladie rare locale</originalText>`},
		{"unknown product without name", func(s *Summary) {
			s.Medications[0] = Medicine{Product: Coding{Code: "9999999999", System: OIDLUProduct}, Start: "2025-01-01"}
		}, true, ""},
		{"product without ATC code, name known", func(s *Summary) {
			s.Medications[0] = Medicine{Product: Coding{Code: "2015121545", System: OIDLUProduct}, Name: "Préparation homéopathique", Start: "2025-01-01"}
		}, false, `<translation code="2015121545" codeSystem="1.3.182.4.13"`},
		{"procedure not in value set (optional)", func(s *Summary) {
			s.Procedures = []Procedure{{Code: Coding{Code: "123456", System: OIDSNOMED, Display: "Intervention locale"}, Date: "2020-01-01"}}
		}, false, `<originalText>Intervention locale</originalText>`},
		{"document language English", func(s *Summary) {}, false, `<languageCode code="fr-LU"/>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mutate(s)
			d, err := Build(s, Options{Terminology: c})
			if tc.wantErr {
				var f *ehdsi.Fault
				var te *cda.TranscodeError
				if !errors.As(err, &f) || f.Code != ehdsi.ErrRequiredCodedElementNotTranscoded || !errors.As(err, &te) {
					t.Fatalf("err = %v, want a fault %s wrapping *cda.TranscodeError", err, ehdsi.ErrRequiredCodedElementNotTranscoded)
				}
				if _, l1err := BuildL1(s, Options{Terminology: c}); l1err == nil {
					t.Error("L1 built although L3 failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(d.XML, []byte(tc.want)) {
				t.Errorf("document lacks %s", tc.want)
			}
		})
	}
}

func TestLanguage(t *testing.T) {
	c := catalogue(t)
	s := readFixture(t, filepath.Join(fixtureDir(t), "1958041200856.json"))
	fr, _ := Build(s, Options{Terminology: c})
	en, _ := Build(s, Options{Terminology: c, Language: "en-GB"})
	if !bytes.Contains(fr.XML, []byte("<title>Allergies et intolérances</title>")) || !bytes.Contains(fr.XML, []byte("20/04/2012")) {
		t.Error("French narrative missing (titles, dd/MM/yyyy dates)")
	}
	if !bytes.Contains(en.XML, []byte("<title>Allergies and intolerances</title>")) || !bytes.Contains(en.XML, []byte(`<languageCode code="en-GB"/>`)) {
		t.Error("English narrative missing")
	}
	if fr.ID != en.ID {
		t.Error("the document id follows the national content, not the rendering language")
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		read func([]byte, Limits) (*Summary, error)
		in   string
		lim  Limits
		want error
	}{
		{"cda not xml", ReadLUCDA, "hello", Limits{}, ErrMalformed},
		{"cda dtd", ReadLUCDA, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, Limits{}, ErrMalformed},
		{"cda wrong root", ReadLUCDA, `<x xmlns="urn:hl7-org:v3"/>`, Limits{}, ErrMalformed},
		{"cda too deep", ReadLUCDA, strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100), Limits{MaxDepth: 10}, ErrTooLarge},
		{"cda too big", ReadLUCDA, strings.Repeat(" ", 2000), Limits{MaxBytes: 1000}, ErrTooLarge},
		{"cda undeclared prefix", ReadLUCDA, `<x:ClinicalDocument/>`, Limits{}, ErrMalformed},
		{"cda no patient", ReadLUCDA, `<ClinicalDocument xmlns="urn:hl7-org:v3"><templateId root="1.3.182.11.10"/><effectiveTime value="20250101"/></ClinicalDocument>`, Limits{}, ErrMalformed},
		{"fhir not json", ReadFHIR, "<x/>", Limits{}, ErrMalformed},
		{"fhir not bundle", ReadFHIR, `{"resourceType":"Patient"}`, Limits{}, ErrMalformed},
		{"fhir no composition", ReadFHIR, `{"resourceType":"Bundle","entry":[]}`, Limits{}, ErrMalformed},
		{"fhir too deep", ReadFHIR, strings.Repeat("[", 100) + strings.Repeat("]", 100), Limits{MaxDepth: 20}, ErrTooLarge},
		{"fhir too many entries", ReadFHIR, `{"resourceType":"Bundle","entry":[{},{},{}]}`, Limits{MaxElements: 2}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.read([]byte(tc.in), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestReadSharedSample reads the real Luxembourg national sample.
func TestReadSharedSample(t *testing.T) {
	b, err := os.ReadFile(testutil.Shared(t, "reference", "cda", "samples", "lu-national", "LU_national-PS_1990010112385.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadLUCDA(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Patient.IDs[0].Extension != "1990010112385" || len(s.Medications) != 5 || len(s.Allergies) != 4 || len(s.Problems) != 6 ||
		len(s.PastIllnesses) != 2 || len(s.Procedures) != 3 || len(s.Devices) != 1 || len(s.Immunizations) != 4 || s.Pregnancy == nil {
		t.Fatalf("sample read as %d meds, %d allergies, %d problems, %d past, %d procedures, %d devices, %d immunizations",
			len(s.Medications), len(s.Allergies), len(s.Problems), len(s.PastIllnesses), len(s.Procedures), len(s.Devices), len(s.Immunizations))
	}
	if s.Medications[0].Name != "Euthyrox 100 ug" || s.Medications[0].Start != "1997-10-06" || s.Problems[0].Code.Code != "J45.0" {
		t.Errorf("first entries: %+v / %+v", s.Medications[0], s.Problems[0])
	}
	if _, err := Build(s, Options{Terminology: catalogue(t)}); err != nil {
		t.Logf("the 2017 sample does not transcode fully: %v", err)
	}
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		file, ct, format string
	}{
		{"1958041200856.json", "application/fhir+json; charset=utf-8", "fhir"},
		{"1944093024127.xml", "application/xml", "lu-cda"},
		{"1944093024127.xml", "", "lu-cda"},
		{"1958041200856.json", "application/octet-stream", "fhir"},
	} {
		b, err := os.ReadFile(filepath.Join(fixtureDir(t), tc.file))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Read(b, tc.ct, Limits{})
		if err != nil || s.Format != tc.format {
			t.Errorf("Read(%s, %q) = %v, %v", tc.file, tc.ct, s, err)
		}
	}
	if _, err := Read([]byte("hello"), "text/plain", Limits{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
}
