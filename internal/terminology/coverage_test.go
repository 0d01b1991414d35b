package terminology

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

func TestCoverageGolden(t *testing.T) {
	c := cat(t)
	rep, err := c.Coverage(DocumentSet{FS: os.DirFS("testdata"), Root: "coverage"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf, "testdata/coverage"); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "coverage.golden", buf.Bytes())

	// Spot checks that don't depend on layout.
	rows := map[string]CoverageRow{}
	for _, r := range rep.Rows {
		rows[r.Name] = r
	}
	if r := rows["eHDSIActiveIngredient"]; r.Codes != 5 || r.Mapped != 3 {
		t.Errorf("eHDSIActiveIngredient row: %+v", r)
	}
	if r := rows["eHDSIIllnessandDisorder"]; r.Codes != 5 || r.Mapped != 3 {
		t.Errorf("eHDSIIllnessandDisorder row: %+v", r)
	}
	if r := rows[rowLUSections]; r.Codes != 4 || r.Mapped != 3 {
		t.Errorf("LU sections row: %+v", r)
	}
	if rep.Files != 2 || len(rep.Errors) != 1 {
		t.Errorf("files %d errors %v", rep.Files, rep.Errors)
	}
	// Deterministic.
	rep2, _ := c.Coverage(DocumentSet{FS: os.DirFS("testdata"), Root: "coverage"})
	var buf2 bytes.Buffer
	_ = rep2.WriteTable(&buf2, "testdata/coverage")
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Error("coverage output is not deterministic")
	}
}

func TestCoverageSharedLUSample(t *testing.T) {
	c := cat(t)
	rep, err := c.Coverage(DocumentSet{FS: os.DirFS(testutil.Shared(t, "reference", "cda", "samples")), Root: "lu-national"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 1 || len(rep.Errors) != 0 {
		t.Fatalf("files %d errors %v", rep.Files, rep.Errors)
	}
	var buf bytes.Buffer
	_ = rep.WriteTable(&buf, "lu-national")
	for _, want := range []string{"LU section templates", "eHDSIActiveIngredient", "2008039279"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

var extractSeeds = []struct{ name, doc string }{
	{"a.json", `{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"}]}}`},
	{"b.json", `{"resourceType":"MedicationRequest","dosageInstruction":[{"doseAndRate":[{"doseQuantity":{"value":1,"unit":"cp"}}]}]}`},
	{"c.xml", `<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="60591-5" codeSystem="2.16.840.1.113883.6.1"/><component><section><templateId root="1.3.182.11.10.2.7"/><doseQuantity value="1" unit="mg"/></section></component></ClinicalDocument>`},
	{"d.xml", `<a><b code="x"`},
	{"e.json", `[[[[`},
}

func TestExtractCodes(t *testing.T) {
	want := []int{1, 1, 3, -1, -1}
	for i, s := range extractSeeds {
		f, err := ExtractCodes(s.name, []byte(s.doc))
		if want[i] < 0 {
			if err == nil {
				t.Errorf("%s: want an error", s.name)
			}
			continue
		}
		if err != nil || len(f) != want[i] {
			t.Errorf("%s: %d codes (%+v), %v; want %d", s.name, len(f), f, err, want[i])
		}
	}
}

func FuzzExtractCodes(f *testing.F) {
	for _, s := range extractSeeds {
		f.Add(s.name[len(s.name)-4:], []byte(s.doc))
	}
	f.Fuzz(func(t *testing.T, ext string, b []byte) {
		name := "f" + ext
		found, err := ExtractCodes(name, b)
		if err != nil {
			return
		}
		for _, x := range found {
			if x.File != name {
				t.Fatalf("file %q", x.File)
			}
		}
	})
}
