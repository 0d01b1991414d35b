package terminology

import (
	"errors"
	"strings"
	"testing"
)

const (
	elemEPDoseForm = "//entry/substanceAdministration[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.2']/consumable/manufacturedProduct/manufacturedMaterial/formCode"
	elemEPPackage  = "//entry/substanceAdministration[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.2']/consumable/manufacturedProduct/manufacturedMaterial/asContent/containerPackagedProduct/formCode"
	elemEPRoute    = "//entry/substanceAdministration[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.2']/routeCode"
	elemEPATC      = "//entry/substanceAdministration[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.2']/consumable/manufacturedProduct/manufacturedMaterial/asSpecializedKind/generalizedMaterialKind/code"
	elemPSProblem  = "//entry/act[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.15']/entryRelationship[@typeCode='SUBJ']/observation[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.7']/value"
	elemDocCode    = "/ClinicalDocument/code"
)

func TestBinding(t *testing.T) {
	c := cat(t)
	tests := []struct {
		doc     DocType
		element string
		vs      string
		usage   Usage
		ok      bool
	}{
		{DocEP, elemEPDoseForm, VSDoseForm, UsageRequired, true},
		{DocEP, elemEPPackage, VSPackage, UsageRNFA, true},
		{DocEP, elemEPRoute, VSRoute, UsageOptional, true},
		{DocEP, elemEPATC, VSActiveIngredient, UsageRNFA, true},
		{DocPS, elemEPDoseForm, VSDoseForm, UsageNotAllowed, true},
		// listed twice (RNFA and O) in coded_element_list: the strictest wins
		{DocPS, elemPSProblem, VSIllnessDisorder, UsageRNFA, true},
		{DocED, elemDocCode, "1.3.6.1.4.1.12559.11.10.1.3.1.42.32", UsageRequired, true},
		{DocPSL1, "/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode", "1.3.6.1.4.1.12559.11.10.1.3.1.42.34", UsageRNFA, true},
		{DocEP, "/no/such/element", "", "", false},
	}
	for _, tt := range tests {
		b, ok := c.Binding(tt.doc, tt.element)
		if ok != tt.ok || b.ValueSet != tt.vs || b.Usage != tt.usage {
			t.Errorf("Binding(%s, %s) = %+v, %v; want %s %s %v", tt.doc, tt.element, b, ok, tt.vs, tt.usage, tt.ok)
		}
	}
	if n := len(c.Bindings(DocEP)); n < 20 {
		t.Errorf("Bindings(EP) = %d, want the eP list", n)
	}
}

func TestResolve(t *testing.T) {
	c := cat(t)
	noATC := Coding{Code: "2015121545", System: OIDLUProduct, Display: "Préparation homéopathique"}

	// R and transcodable
	r, err := c.Resolve(DocEP, elemEPDoseForm, Coding{Code: "1996073711", System: OIDLUProduct})
	if err != nil || !r.OK || r.Coded.MVC.Code != "10219000" {
		t.Fatalf("R ok: %+v %v", r, err)
	}
	// R and untranscodable: error naming element and code
	_, err = c.Resolve(DocEP, elemEPDoseForm, Coding{Code: "TAB", System: "urn:oid:1.3.182.99"})
	var m *Miss
	if !errors.As(err, &m) || m.Usage != UsageRequired || !strings.Contains(err.Error(), "formCode") || !strings.Contains(err.Error(), `"TAB"`) {
		t.Fatalf("R miss: %v", err)
	}
	// RNFA and untranscodable: nullFlavor with originalText
	r, err = c.Resolve(DocEP, elemEPATC, noATC)
	if err != nil || r.OK || r.NullFlavor != "OTH" || r.OriginalText != noATC.Display || r.Miss == nil || r.Miss.Reason != MissNoMapping {
		t.Fatalf("RNFA: %+v %v", r, err)
	}
	// O and untranscodable: may be omitted
	r, err = c.Resolve(DocEP, elemEPRoute, Coding{Code: "999", System: OIDSNOMED})
	if err != nil || r.OK || !r.Omit {
		t.Fatalf("O: %+v %v", r, err)
	}
	// NA
	if _, err = c.Resolve(DocPS, elemEPDoseForm, Coding{Code: "10219000", System: OIDEDQM}); !errors.As(err, &m) || m.Reason != MissNotAllowed {
		t.Fatalf("NA: %v", err)
	}
}

func TestProduct(t *testing.T) {
	c := cat(t)
	p, ok := c.Product("2001096526")
	if !ok {
		t.Fatal("Augmentin missing")
	}
	if p.ATC.Code != "J01CR02" || p.DoseForm.Code != "10221000" || p.Package.Code != "30007000" || p.Route.Code != "20053000" {
		t.Errorf("Augmentin codes: %+v", p)
	}
	if p.Code.System != OIDLUProduct || p.Strength != (Quantity{"500", "mg"}) || len(p.Ingredients) != 2 {
		t.Errorf("Augmentin: %+v", p)
	}
	if p.Ingredients[0].ATC.Code != "J01CA04" || p.Ingredients[1].ATC.Code != "" || p.Ingredients[1].Strength != (Quantity{"125", "mg"}) {
		t.Errorf("Augmentin ingredients: %+v", p.Ingredients)
	}
	if _, ok := c.Product("9999999999"); ok {
		t.Error("unknown product found")
	}
	// The product list: ≥45 products, exactly one without ATC, several
	// multi-ingredient ones, every code 10 digits, every mapped code valid.
	var noATC, multi int
	codes := c.ProductCodes()
	if len(codes) < 45 {
		t.Errorf("%d products, want ≥ 45", len(codes))
	}
	for _, code := range codes {
		p, _ := c.Product(code)
		if len(code) != 10 || strings.Trim(code, "0123456789") != "" {
			t.Errorf("product code %q is not 10 digits", code)
		}
		if p.ATC.Code == "" {
			noATC++
		} else if !c.Validate(VSActiveIngredient, p.ATC) {
			t.Errorf("%s: ATC %s invalid", code, p.ATC.Code)
		}
		if len(p.Ingredients) > 1 {
			multi++
		}
		for vs, cd := range map[string]Coding{VSDoseForm: p.DoseForm, VSPackage: p.Package, VSRoute: p.Route} {
			if !c.Validate(vs, cd) {
				t.Errorf("%s: %s not in %s", code, cd.Code, vs)
			}
		}
		for _, in := range p.Ingredients {
			if in.Strength.Unit != "" && !c.Validate(VSUnit, Coding{Code: in.Strength.Unit}) {
				t.Errorf("%s: unit %q not UCUM in eHDSIUnit", code, in.Strength.Unit)
			}
		}
	}
	if noATC != 1 || multi < 3 {
		t.Errorf("products without ATC = %d (want 1), multi-ingredient = %d (want ≥ 3)", noATC, multi)
	}
}

func TestSectionsAndEntries(t *testing.T) {
	c := cat(t)
	s, ok := c.Section("1.3.182.11.10.2.7")
	if !ok || s.Code.Code != "10160-0" || s.TemplateID != "1.3.6.1.4.1.12559.11.10.1.3.1.2.3" || s.Code.Display == "" {
		t.Errorf("medication summary section: %+v %v", s, ok)
	}
	if id, ok := c.EntryTemplate("1.3.182.11.10.3.12"); !ok || id != "1.3.6.1.4.1.12559.11.10.1.3.1.3.4" {
		t.Errorf("medication entry: %s %v", id, ok)
	}
}

func TestCodeSystem(t *testing.T) {
	c := cat(t)
	for in, want := range map[string]string{
		OIDICD10HL7:                      OIDICD10,
		"http://hl7.org/fhir/sid/icd-10": OIDICD10,
		"urn:oid:2.16.840.1.113883.6.3":  OIDICD10,
		"http://snomed.info/sct":         OIDSNOMED,
		"urn:oid:1.3.182.4.13":           OIDLUProduct,
		OIDEDQM:                          OIDEDQM,
	} {
		if got, _, ok := c.CodeSystem(in); !ok || got != want {
			t.Errorf("CodeSystem(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
}

func TestMissEHDSICode(t *testing.T) {
	c := cat(t)
	_, err := c.Resolve(DocEP, elemEPDoseForm, Coding{Code: "TAB", System: "urn:oid:1.3.182.99"})
	var m *Miss
	if !errors.As(err, &m) || m.EHDSICode() != "ERROR_REQUIRED_CODED_ELEMENT_NOT_TRANSCODED" {
		t.Fatalf("R: %v", err)
	}
	r, _ := c.Resolve(DocEP, elemEPATC, Coding{Code: "2015121545", System: OIDLUProduct})
	if r.Miss == nil || r.Miss.EHDSICode() != "ERROR_EP_MISSING_EXPECTED_MAPPING" {
		t.Fatalf("RNFA: %+v", r.Miss)
	}
}
