package terminology

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/luxncp/luxncp/translations"
)

var ctsCases = []struct {
	name string
	in   string
	rows int
	err  bool
}{
	{"comma", "valueSetOid,codeSystemOid,code,language,designation\n1.3.6.1.4.1.12559.11.10.1.3.1.42.24,2.16.840.1.113883.6.73,H03AA01,fr-LU,lévothyroxine sodique\n", 1, false},
	{"semicolon with BOM", "\ufeffcodeSystemId;conceptCode;languageCode;translation\r\n2.16.840.1.113883.6.73;C10AA05;de;Atorvastatin\r\n", 1, false},
	{"tab", "code_system_oid\tcode\tlang\tterm\n1.3.6.1.4.1.12559.11.10.1.3.1.44.2\tJ45.0\tfr\tAsthme à prédominance allergique\n\n", 1, false},
	{"quoted comma", "codeSystem,code,language,display\n0.4.0.127.0.16.1.1.2.1,10101000,pt,\"Gotas orais, solução\"\n", 1, false},
	{"missing column", "code,language,designation\nx,fr,y\n", 0, true},
	{"missing code", "codeSystem,code,language,display\n1.2,,fr,term\n", 0, true},
	{"empty", "", 0, true},
	{"bad quote", "codeSystem,code,language,display\n1.2,\"x,fr,y\n", 0, true},
}

func TestParseCTS(t *testing.T) {
	for _, tt := range ctsCases {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ParseCTS(tt.name, []byte(tt.in))
			if (err != nil) != tt.err || len(rows) != tt.rows {
				t.Fatalf("rows=%d err=%v; want rows=%d err=%v", len(rows), err, tt.rows, tt.err)
			}
		})
	}
}

// TestLicensedSlot loads a CTS export from a separate directory (the
// $LUXNCP_TERMINOLOGY_LICENSED_DIR path) without code change: a licensed
// translation wins over the embedded one and English rows extend value sets.
func TestLicensedSlot(t *testing.T) {
	lic := fstest.MapFS{
		"mtc-fr.csv": {Data: []byte("valueSetOid,codeSystemOid,code,language,designation\n" +
			"1.3.6.1.4.1.12559.11.10.1.3.1.42.24,2.16.840.1.113883.6.73,H03AA01,fr,lévothyroxine sodique\n" +
			"1.3.6.1.4.1.12559.11.10.1.3.1.42.24,2.16.840.1.113883.6.73,N02BE51,en,\"paracetamol, combinations excl. psycholeptics\"\n" +
			"1.3.6.1.4.1.12559.11.10.1.3.1.42.2,0.4.0.127.0.16.1.1.2.1,10219000,fr,Comprimé (MTC)\n")},
		"notes.md": {Data: []byte("ignored")},
	}
	c, err := LoadFS(translations.FS, lic)
	if err != nil {
		t.Fatal(err)
	}
	if tr, _ := c.Translate(Coding{Code: "H03AA01", System: OIDATC}, "fr-LU"); tr.Text != "lévothyroxine sodique" || tr.Lang != "fr" {
		t.Errorf("licensed ATC fr: %+v", tr)
	}
	if tr, _ := c.Translate(Coding{Code: "10219000", System: OIDEDQM}, "fr"); tr.Text != "Comprimé (MTC)" {
		t.Errorf("licensed translation must win: %+v", tr)
	}
	if !c.Validate(VSActiveIngredient, Coding{Code: "N02BE51", System: OIDATC}) {
		t.Error("licensed English row did not extend the value set")
	}
	// A bad export fails loading with the file name.
	_, err = LoadFS(translations.FS, fstest.MapFS{"bad.csv": {Data: []byte("code\nx\n")}})
	if err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Errorf("bad export: %v", err)
	}
	if _, err := LoadLicensedDir(t.TempDir() + "/missing"); err == nil || !errors.Is(err, err) {
		t.Error("missing licensed dir must fail")
	}
}

func FuzzParseCTS(f *testing.F) {
	for _, tt := range ctsCases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseCTS("fuzz", b)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Code == "" || r.System == "" || r.Lang == "" {
				t.Fatalf("row without required field: %+v", r)
			}
		}
		// Applying any parsed export must not panic.
		c := &Catalogue{systems: &systemTable{name: map[string]string{}, canon: map[string]string{}}, valueSets: map[string]*valueSet{}, byName: map[string]*valueSet{}, english: map[sc]string{}, designations: map[tkey]string{}, langs: map[string]int{}}
		c.applyCTS(rows)
	})
}
