package orcd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// demoPatients reads the demo backend's patients, keyed by every matricule.
func demoPatients(t testing.TB) map[string]cda.Patient {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "internal", "national", "demo", "data", "patients.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Identifier   []struct{ System, Value string }
				Name         []struct {
					Family string
					Given  []string
				}
				Gender    string
				BirthDate string
				Address   []struct {
					Line                      []string
					City, PostalCode, Country string
				}
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	out := map[string]cda.Patient{}
	for _, e := range bundle.Entry {
		r := e.Resource
		if r.ResourceType != "Patient" {
			continue
		}
		p := cda.Patient{Gender: r.Gender, Birth: r.BirthDate}
		if len(r.Name) > 0 {
			p.Name = cda.Name{Family: r.Name[0].Family, Given: r.Name[0].Given}
		}
		if len(r.Address) > 0 {
			a := r.Address[0]
			p.Addr = cda.Address{Lines: a.Line, City: a.City, PostalCode: a.PostalCode, Country: a.Country}
		}
		for _, id := range r.Identifier {
			if id.System == "urn:oid:1.3.182.4.4" {
				p.IDs = append(p.IDs, cda.II{Root: "1.3.182.4.4", Extension: id.Value})
			}
		}
		for _, id := range p.IDs {
			out[id.Extension] = p
		}
	}
	return out
}

// inputs reads every fixture (PDF + sidecar) as the XCA service would.
func inputs(t testing.TB) map[string]Input {
	pats := demoPatients(t)
	out := map[string]Input{}
	for _, f := range orcdFixtures {
		dir := orcdDir(t)
		pdf, err := os.ReadFile(filepath.Join(dir, f.name()+".pdf"))
		if err != nil {
			t.Fatal(err)
		}
		var sc Sidecar
		b, err := os.ReadFile(filepath.Join(dir, f.name()+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &sc); err != nil {
			t.Fatal(err)
		}
		created, err := time.Parse(time.RFC3339, sc.Created)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := pats[sc.Matricule]
		if !ok {
			t.Fatalf("%s: matricule %s not a demo patient", f.name(), sc.Matricule)
		}
		out[f.name()] = Input{ClassCode: sc.ClassCode, Title: sc.Title, Created: created, Patient: p, AuthorName: sc.Author,
			Source: cda.II{Root: "1.3.182.3.1.1.10000000.6.3.2", Extension: f.name()}, PDF: pdf}
	}
	return out
}

func TestBuildAllXSD(t *testing.T) {
	c := catalogue(t)
	dir := t.TempDir()
	var files []string
	for name, in := range inputs(t) {
		d, err := Build(in, Options{Terminology: c})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{`<templateId root="` + d.Kind.Template + `"/>`, `code="` + in.ClassCode + `"`, `mediaType="application/pdf"`} {
			if !bytes.Contains(d.XML, []byte(want)) {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		p := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(p, d.XML, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	testutil.Tool(t, "xmllint")
	xsd := testutil.Shared(t, "reference", "cda", "xsd", "ehdsi", "CDA_Pharma.xsd")
	out, err := exec.Command("xmllint", append([]string{"--noout", "--nonet", "--schema", xsd}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("XSD validation failed: %v\n%s", err, out)
	}
}

func TestGolden(t *testing.T) {
	c := catalogue(t)
	ins := inputs(t)
	for _, name := range []string{"1962031411774-lab-1", "1962031411774-imaging-1", "1962031411774-discharge-1"} {
		t.Run(name, func(t *testing.T) {
			in := ins[name]
			in.PDF = []byte("%PDF-1.4\n% small stand-in for the golden file\n%%EOF\n")
			d, err := Build(in, Options{Terminology: c})
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, name+".xml", d.XML)
		})
	}
}

func TestDeterministic(t *testing.T) {
	c := catalogue(t)
	ins := inputs(t)
	seen := map[string]string{}
	for name, in := range ins {
		a, err := Build(in, Options{Terminology: c})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Build(in, Options{Terminology: c})
		if a.ID != b.ID || !bytes.Equal(a.XML, b.XML) {
			t.Errorf("%s: not deterministic", name)
		}
		if prev, ok := seen[a.ID.Extension]; ok {
			t.Errorf("%s and %s share id %s", prev, name, a.ID.Extension)
		}
		seen[a.ID.Extension] = name
	}
}

func TestBuildErrors(t *testing.T) {
	c := catalogue(t)
	good := inputs(t)["1962031411774-lab-1"]
	tests := []struct {
		name   string
		mutate func(*Input)
		code   ehdsi.Code
		err    error
	}{
		{"unknown class", func(in *Input) { in.ClassCode = "60591-5" }, ehdsi.ErrGenericServiceSignifier, ErrUnknownClass},
		{"not a PDF", func(in *Input) { in.PDF = []byte("<html>") }, ehdsi.ErrORCDGeneric, ErrNotPDF},
		{"no patient id", func(in *Input) { in.Patient.IDs = nil }, ehdsi.ErrORCDGeneric, cda.ErrMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.mutate(&in)
			_, err := Build(in, Options{Terminology: c})
			var f *ehdsi.Fault
			if !errors.As(err, &f) || f.Code != tc.code || !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %s wrapping %v", err, tc.code, tc.err)
			}
		})
	}
}

func TestParseAuthor(t *testing.T) {
	tests := []struct {
		in                 string
		prefix, fam, given string
		org                string
	}{
		{"Dr Anne Koch, Laboratoires Réunis", "Dr", "Koch", "Anne", "Laboratoires Réunis"},
		{"Marc Schiltz", "", "Schiltz", "Marc", ""},
		{"Laboratoire", "", "Laboratoire", "", ""},
		{"", "", "", "", ""},
	}
	for _, tc := range tests {
		a := ParseAuthor(tc.in)
		if strings.Join(a.Name.Prefix, "") != tc.prefix || a.Name.Family != tc.fam || strings.Join(a.Name.Given, " ") != tc.given || a.Organization.Name != tc.org {
			t.Errorf("ParseAuthor(%q) = %+v", tc.in, a)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	c := catalogue(b)
	in := inputs(b)["1962031411774-discharge-1"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(in, Options{Terminology: c}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeaderPSL1Rules: shared/ has no OrCD schematron. The OrCD documents
// share the eHDSI PDF-embedded header and body with the PS L1 (…1.1.7), so
// each kind is checked against the PS L1 rules on a copy whose templateId
// and document code are swapped for the PS L1 ones.
func TestHeaderPSL1Rules(t *testing.T) {
	if testing.Short() {
		t.Skip("validate-cda takes a minute; skipped with -short")
	}
	c := catalogue(t)
	ins := inputs(t)
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"1962031411774-lab-1", "1962031411774-imaging-1", "19320815021-discharge-1"} {
		d, err := Build(ins[name], Options{Terminology: c})
		if err != nil {
			t.Fatal(err)
		}
		x := strings.Replace(string(d.XML), `<templateId root="`+d.Kind.Template+`"/>`, `<templateId root="`+ehdsi.TemplatePSL1+`"/>`, 1)
		x = strings.Replace(x, `code="`+d.Kind.ClassCode+`" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC" displayName="`+d.Kind.Display+`"`,
			`code="60591-5" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC" displayName="Patient summary Document"`, 1)
		if x == string(d.XML) {
			t.Fatal("swap did not apply")
		}
		p := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(p, []byte(x), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	testutil.ValidateCDA(t, files...)
}
