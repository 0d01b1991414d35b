package terminology

import (
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/luxncp/luxncp/translations"
)

var (
	loadOnce sync.Once
	loaded   *Catalogue
	loadErr  error
)

// cat loads the embedded catalogue once for all tests of the package.
func cat(t testing.TB) *Catalogue {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = Load() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

func TestLoadHasNoProblems(t *testing.T) {
	c := cat(t)
	if p := c.Problems(); len(p) > 0 {
		t.Fatalf("embedded data inconsistent:\n%s", strings.Join(p, "\n"))
	}
	for _, vs := range []string{VSActiveIngredient, VSDoseForm, VSPackage, VSRoute, VSUnit, VSIllnessDisorder, VSSection} {
		if _, _, ok := c.ValueSetOID(vs); !ok {
			t.Errorf("value set %s not loaded", vs)
		}
	}
	if _, _, ok := c.ValueSetOID(VSQuantityUnit); ok {
		t.Logf("eHDSIQuantityUnit loaded")
	}
}

func TestValidate(t *testing.T) {
	c := cat(t)
	tests := []struct {
		name string
		vs   string
		code Coding
		want bool
	}{
		{"ATC levothyroxine", VSActiveIngredient, Coding{Code: "H03AA01", System: OIDATC}, true},
		{"ATC as FHIR URI", VSActiveIngredient, Coding{Code: "C10AA05", System: "http://www.whocc.no/atc"}, true},
		{"ATC unknown code", VSActiveIngredient, Coding{Code: "Z99ZZ99", System: OIDATC}, false},
		{"EDQM tablet is a dose form", VSDoseForm, Coding{Code: "10219000", System: OIDEDQM}, true},
		// trap: one code system (EDQM), several value sets — validity is per value set
		{"EDQM tablet is not a package", VSPackage, Coding{Code: "10219000", System: OIDEDQM}, false},
		{"EDQM tablet is not a route", VSRoute, Coding{Code: "10219000", System: OIDEDQM}, false},
		{"EDQM blister is a package", VSPackage, Coding{Code: "30007000", System: OIDEDQM}, true},
		{"EDQM oral use is a route", VSRoute, Coding{Code: "20053000", System: OIDEDQM}, true},
		{"EDQM oral use is not a dose form", VSDoseForm, Coding{Code: "20053000", System: OIDEDQM}, false},
		{"UCUM mg", VSUnit, Coding{Code: "mg", System: OIDUCUM}, true},
		{"UCUM empty system means the only one", VSUnit, Coding{Code: "[IU]/mL"}, true},
		{"UCUM is case sensitive", VSUnit, Coding{Code: "MG", System: OIDUCUM}, false},
		{"ICD-10 eHDSI OID", VSIllnessDisorder, Coding{Code: "J45.0", System: OIDICD10}, true},
		// trap: the usual HL7 ICD-10 OID is accepted on input
		{"ICD-10 HL7 OID accepted", VSIllnessDisorder, Coding{Code: "J45.0", System: OIDICD10HL7}, true},
		{"ICD-10 FHIR URI", VSIllnessDisorder, Coding{Code: "I10", System: "http://hl7.org/fhir/sid/icd-10"}, true},
		{"SNOMED caesarean section procedure", "1.3.6.1.4.1.12559.11.10.1.3.1.42.10", Coding{Code: "11466000", System: OIDSNOMED}, true},
		{"wrong system for the code", VSIllnessDisorder, Coding{Code: "J45.0", System: OIDSNOMED}, false},
		{"unknown value set", "1.2.3", Coding{Code: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Validate(tt.vs, tt.code); got != tt.want {
				t.Errorf("Validate(%s, %+v) = %v, want %v", tt.vs, tt.code, got, tt.want)
			}
		})
	}
}

func TestTranscode(t *testing.T) {
	c := cat(t)
	tests := []struct {
		name     string
		vs       string
		in       Coding
		want     Coding // MVC code+system+display
		original bool   // Original kept
		miss     MissReason
	}{
		{"ATC direct", VSActiveIngredient, Coding{Code: "H03AA01", System: OIDATC}, Coding{Code: "H03AA01", System: OIDATC, Display: "levothyroxine sodium"}, false, ""},
		{"LU product → ATC", VSActiveIngredient, Coding{Code: "1996073711", System: OIDLUProduct}, Coding{Code: "H03AA01", System: OIDATC, Display: "levothyroxine sodium"}, true, ""},
		{"LU product urn:oid → ATC", VSActiveIngredient, Coding{Code: "2001096526", System: "urn:oid:1.3.182.4.13"}, Coding{Code: "J01CR02", System: OIDATC, Display: "amoxicillin and beta-lactamase inhibitor"}, true, ""},
		{"LU product → dose form", VSDoseForm, Coding{Code: "2001096526", System: OIDLUProduct}, Coding{Code: "10221000", System: OIDEDQM, Display: "Film-coated tablet"}, true, ""},
		{"LU product → package", VSPackage, Coding{Code: "1996073711", System: OIDLUProduct}, Coding{Code: "30007000", System: OIDEDQM, Display: "Blister"}, true, ""},
		{"LU product without ATC", VSActiveIngredient, Coding{Code: "2015121545", System: OIDLUProduct}, Coding{}, false, MissNoMapping},
		{"unknown LU product", VSActiveIngredient, Coding{Code: "0000000000", System: OIDLUProduct}, Coding{}, false, MissNoMapping},
		{"SNOMED oral route → EDQM", VSRoute, Coding{Code: "26643006", System: "http://snomed.info/sct"}, Coding{Code: "20053000", System: OIDEDQM, Display: "Oral use"}, true, ""},
		{"SNOMED inhalation → EDQM", VSRoute, Coding{Code: "447694001", System: OIDSNOMED}, Coding{Code: "20020000", System: OIDEDQM, Display: "Inhalation use"}, true, ""},
		{"free-text unit µg → UCUM", VSUnit, Coding{Code: "µg"}, Coding{Code: "ug", System: OIDUCUM, Display: "microgram"}, true, ""},
		{"free-text unit UI → UCUM", VSUnit, Coding{Code: "UI"}, Coding{Code: "[IU]", System: OIDUCUM}, true, ""},
		{"ICD-10 HL7 OID → eHDSI OID", VSIllnessDisorder, Coding{Code: "E11.9", System: OIDICD10HL7}, Coding{Code: "E11.9", System: OIDICD10}, false, ""},
		{"EDQM code in the wrong value set", VSPackage, Coding{Code: "10219000", System: OIDEDQM}, Coding{}, false, MissNotInValueSet},
		{"unknown code system", VSDoseForm, Coding{Code: "TAB", System: "1.2.3.4.5"}, Coding{}, false, MissUnknownSystem},
		{"empty code", VSDoseForm, Coding{System: OIDEDQM}, Coding{}, false, MissEmptyCode},
		{"unknown value set", "1.2.3", Coding{Code: "x"}, Coding{}, false, MissUnknownValueSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Transcode(tt.vs, tt.in)
			if tt.miss != "" {
				var m *Miss
				if !errors.As(err, &m) {
					t.Fatalf("err = %v, want *Miss %q", err, tt.miss)
				}
				if m.Reason != tt.miss {
					t.Fatalf("reason = %q, want %q (%v)", m.Reason, tt.miss, m)
				}
				if !strings.Contains(m.Error(), tt.in.Code) {
					t.Errorf("message %q does not name the code", m.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.MVC.Code != tt.want.Code || got.MVC.System != tt.want.System || (tt.want.Display != "" && got.MVC.Display != tt.want.Display) {
				t.Errorf("MVC = %+v, want %+v", got.MVC, tt.want)
			}
			if got.MVC.SystemName == "" {
				t.Errorf("MVC.SystemName empty")
			}
			if tt.original != (got.Original.Code != "") {
				t.Errorf("Original = %+v, want kept=%v", got.Original, tt.original)
			}
			if tt.original && got.Original.Code != tt.in.Code {
				t.Errorf("Original.Code = %q, want %q", got.Original.Code, tt.in.Code)
			}
			if tt.original && len(got.Path) == 0 {
				t.Errorf("no mapping path")
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	c := cat(t)
	tablet := Coding{Code: "10219000", System: OIDEDQM}
	tests := []struct {
		name     string
		code     Coding
		langs    []string
		text     string
		lang     string
		fallback bool
		ok       bool
	}{
		{"fr", tablet, []string{"fr"}, "Comprimé", "fr", false, true},
		{"de-LU falls back to de", tablet, []string{"de-LU"}, "Tablette", "de", true, true},
		{"lower-case region", tablet, []string{"de-lu"}, "Tablette", "de", true, true},
		{"lb then fr", tablet, []string{"lb", "fr-LU"}, "Comprimé", "fr", true, true},
		{"nl", tablet, []string{"nl"}, "Tablet", "nl", false, true},
		{"pt-PT", tablet, []string{"pt-PT"}, "Comprimido", "pt", true, true},
		{"en", tablet, []string{"en"}, "Tablet", "en", false, true},
		{"no language: English", tablet, nil, "Tablet", "en", false, true},
		{"lb only: English", tablet, []string{"lb"}, "Tablet", "en", true, true},
		{"ATC group has English only", Coding{Code: "C10A", System: OIDATC}, []string{"fr"}, "LIPID MODIFYING AGENTS, PLAIN", "en", true, true},
		{"ATC substance: French INN", Coding{Code: "C10AA05", System: OIDATC}, []string{"fr"}, "atorvastatine", "fr", false, true},
		{"ATC substance: German INN", Coding{Code: "C09AA02", System: OIDATC}, []string{"de"}, "Enalapril", "de", false, true},
		{"route oral use in de", Coding{Code: "20053000", System: "http://standardterms.edqm.eu"}, []string{"de"}, "zum Einnehmen", "de", false, true},
		{"unknown code keeps its display", Coding{Code: "x", System: OIDEDQM, Display: "given"}, []string{"fr"}, "given", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Translate(tt.code, tt.langs...)
			if ok != tt.ok || got.Text != tt.text || got.Lang != tt.lang || got.Fallback != tt.fallback {
				t.Errorf("Translate = %+v, %v; want {%s %s %v}, %v", got, ok, tt.text, tt.lang, tt.fallback, tt.ok)
			}
		})
	}
}

// TestEveryATCSubstanceInGermanAndFrench: every level-5 ATC code of the
// subset luxncp ships (mvc/eHDSIActiveIngredient.csv) has a German and a
// French name (luxncp-atc-fr-de.csv), not only the codes some sample uses.
func TestEveryATCSubstanceInGermanAndFrench(t *testing.T) {
	c := cat(t)
	b, err := fs.ReadFile(translations.FS, MVCDir+"/eHDSIActiveIngredient.csv")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := readTable("eHDSIActiveIngredient.csv", b, ',')
	if err != nil {
		t.Fatal(err)
	}
	ix := tab.col("code")
	n := 0
	for _, r := range tab.rows {
		code := get(r, ix)
		if len(code) != 7 { // level 5: A10BA02
			continue
		}
		n++
		for _, lang := range []string{"de", "fr"} {
			if got, ok := c.Translate(Coding{Code: code, System: OIDATC}, lang); !ok || got.Lang != lang {
				t.Errorf("ATC %s: no %s name (%q in %q)", code, lang, got.Text, got.Lang)
			}
		}
	}
	if n < 180 {
		t.Errorf("%d level-5 ATC codes in the subset; want the 184 of atc-subset.csv", n)
	}
}
