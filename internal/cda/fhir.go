package cda

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/luxncp/luxncp/internal/terminology"
)

// The subset of FHIR R4 read from a national prescription Bundle (HL7 Europe
// Medication Prescription and Dispense profiles).

type fhirBundle struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id"`
	Identifier   *fhirIdentifier `json:"identifier,omitempty"`
	Type         string          `json:"type"`
	Timestamp    string          `json:"timestamp,omitempty"`
	Entry        []struct {
		FullURL  string       `json:"fullUrl,omitempty"`
		Resource fhirResource `json:"resource"`
	} `json:"entry"`
}

type fhirIdentifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type fhirCoding struct {
	System  string `json:"system,omitempty"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type fhirCC struct {
	Coding []fhirCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type fhirRef struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type fhirQuantity struct {
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
}

type fhirRatio struct {
	Numerator   *fhirQuantity `json:"numerator,omitempty"`
	Denominator *fhirQuantity `json:"denominator,omitempty"`
}

type fhirPeriod struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type fhirHumanName struct {
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type fhirAddress struct {
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	State      string   `json:"state,omitempty"`
	Country    string   `json:"country,omitempty"`
}

type fhirTelecom struct {
	System string `json:"system,omitempty"` // phone | email | url
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"` // home | work | mobile
}

type fhirExtension struct {
	URL                  string  `json:"url"`
	ValueCodeableConcept *fhirCC `json:"valueCodeableConcept,omitempty"`
	ValueString          string  `json:"valueString,omitempty"`
	ValueInteger         *int    `json:"valueInteger,omitempty"`
}

type fhirResource struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Identifier   []fhirIdentifier `json:"identifier,omitempty"`
	Extension    []fhirExtension  `json:"extension,omitempty"`

	// Patient, Practitioner
	Name          json.RawMessage `json:"name,omitempty"` // []HumanName, or a string for Organization
	Gender        string          `json:"gender,omitempty"`
	BirthDate     string          `json:"birthDate,omitempty"`
	Address       []fhirAddress   `json:"address,omitempty"`
	Telecom       []fhirTelecom   `json:"telecom,omitempty"`
	Communication []struct {
		Language fhirCC `json:"language"`
	} `json:"communication,omitempty"`

	// PractitionerRole
	Practitioner *fhirRef `json:"practitioner,omitempty"`
	Organization *fhirRef `json:"organization,omitempty"`
	Code         []fhirCC `json:"-"`

	// Medication (code is a CodeableConcept) and PractitionerRole (code is a list)
	RawCode    json.RawMessage `json:"code,omitempty"`
	Form       *fhirCC         `json:"form,omitempty"`
	Amount     *fhirRatio      `json:"amount,omitempty"`
	Ingredient []struct {
		ItemCodeableConcept *fhirCC    `json:"itemCodeableConcept,omitempty"`
		IsActive            *bool      `json:"isActive,omitempty"`
		Strength            *fhirRatio `json:"strength,omitempty"`
	} `json:"ingredient,omitempty"`

	// MedicationRequest, MedicationDispense
	Status                    string          `json:"status,omitempty"`
	Intent                    string          `json:"intent,omitempty"`
	GroupIdentifier           *fhirIdentifier `json:"groupIdentifier,omitempty"`
	MedicationReference       *fhirRef        `json:"medicationReference,omitempty"`
	MedicationCodeableConcept *fhirCC         `json:"medicationCodeableConcept,omitempty"`
	Subject                   *fhirRef        `json:"subject,omitempty"`
	AuthoredOn                string          `json:"authoredOn,omitempty"`
	Requester                 *fhirRef        `json:"requester,omitempty"`
	Note                      []struct {
		Text string `json:"text"`
	} `json:"note,omitempty"`
	DosageInstruction []fhirDosage `json:"dosageInstruction,omitempty"`
	DispenseRequest   *struct {
		ValidityPeriod         *fhirPeriod   `json:"validityPeriod,omitempty"`
		NumberOfRepeatsAllowed *int          `json:"numberOfRepeatsAllowed,omitempty"`
		Quantity               *fhirQuantity `json:"quantity,omitempty"`
	} `json:"dispenseRequest,omitempty"`
	Substitution *struct {
		AllowedBoolean         *bool   `json:"allowedBoolean,omitempty"`
		AllowedCodeableConcept *fhirCC `json:"allowedCodeableConcept,omitempty"`
	} `json:"substitution,omitempty"`
	AuthorizingPrescription []fhirRef `json:"authorizingPrescription,omitempty"`
}

type fhirDosage struct {
	Sequence           int     `json:"sequence,omitempty"`
	Text               string  `json:"text,omitempty"`
	PatientInstruction string  `json:"patientInstruction,omitempty"`
	AsNeededBoolean    bool    `json:"asNeededBoolean,omitempty"`
	Route              *fhirCC `json:"route,omitempty"`
	Timing             *struct {
		Repeat *struct {
			BoundsPeriod *fhirPeriod `json:"boundsPeriod,omitempty"`
			Frequency    int         `json:"frequency,omitempty"`
			Period       float64     `json:"period,omitempty"`
			PeriodUnit   string      `json:"periodUnit,omitempty"`
		} `json:"repeat,omitempty"`
	} `json:"timing,omitempty"`
	DoseAndRate []struct {
		DoseQuantity *fhirQuantity `json:"doseQuantity,omitempty"`
		DoseRange    *struct {
			Low  *fhirQuantity `json:"low,omitempty"`
			High *fhirQuantity `json:"high,omitempty"`
		} `json:"doseRange,omitempty"`
	} `json:"doseAndRate,omitempty"`
}

// Known FHIR code system URIs and their OIDs.
var systemOIDs = map[string]string{
	"http://www.whocc.no/atc":        OIDATC,
	"http://standardterms.edqm.eu":   OIDEDQM,
	"http://unitsofmeasure.org":      OIDUCUM,
	"http://loinc.org":               OIDLOINC,
	"http://snomed.info/sct":         "2.16.840.1.113883.6.96",
	"http://hl7.org/fhir/sid/icd-10": "1.3.6.1.4.1.12559.11.10.1.3.1.44.2",
	"http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution": OIDSubstitution,
	"http://ilo.org/isco-08": OIDISCO,
}

// OIDOf returns the OID of a FHIR system URI ("urn:oid:1.2.3" → "1.2.3";
// well-known URIs → their HL7 OIDs), or "" when unknown.
func OIDOf(system string) string {
	if s, ok := strings.CutPrefix(system, "urn:oid:"); ok {
		return s
	}
	return systemOIDs[system]
}

func (c fhirCoding) coding() terminology.Coding {
	sys := OIDOf(c.System)
	if sys == "" {
		sys = c.System
	}
	return terminology.Coding{Code: c.Code, System: sys, SystemVersion: c.Version, Display: c.Display}
}

// find returns the first coding of cc with the given OID (or the first coding
// when oid is "").
func (cc *fhirCC) find(oid string) (terminology.Coding, bool) {
	if cc == nil {
		return terminology.Coding{}, false
	}
	for _, c := range cc.Coding {
		if oid == "" || OIDOf(c.System) == oid {
			return c.coding(), true
		}
	}
	return terminology.Coding{}, false
}

func (cc *fhirCC) text() string {
	if cc == nil {
		return ""
	}
	if cc.Text != "" {
		return cc.Text
	}
	for _, c := range cc.Coding {
		if c.Display != "" {
			return c.Display
		}
	}
	return ""
}

func (r *fhirResource) humanName() Name {
	var names []fhirHumanName
	if json.Unmarshal(r.Name, &names) != nil || len(names) == 0 {
		return Name{}
	}
	n := names[0]
	return Name{Prefix: n.Prefix, Given: n.Given, Family: n.Family}
}

func (r *fhirResource) orgName() string {
	var s string
	if json.Unmarshal(r.Name, &s) == nil {
		return s
	}
	return ""
}

func (r *fhirResource) ids() []II {
	var out []II
	for _, id := range r.Identifier {
		if root := OIDOf(id.System); root != "" && id.Value != "" {
			out = append(out, II{Root: root, Extension: id.Value})
		}
	}
	return out
}

func (r *fhirResource) identifier(oid string) string {
	for _, id := range r.Identifier {
		if OIDOf(id.System) == oid {
			return id.Value
		}
	}
	return ""
}

func (r *fhirResource) addr() Address {
	if len(r.Address) == 0 {
		return Address{}
	}
	a := r.Address[0]
	return Address{Lines: a.Line, City: a.City, PostalCode: a.PostalCode, State: a.State, Country: a.Country}
}

func (r *fhirResource) telecoms() []Telecom {
	var out []Telecom
	for _, t := range r.Telecom {
		var v string
		switch t.System {
		case "phone", "fax":
			v = "tel:" + strings.ReplaceAll(t.Value, " ", "")
		case "email":
			v = "mailto:" + t.Value
		case "url":
			v = t.Value
		default:
			continue
		}
		use := map[string]string{"home": "H", "work": "WP", "mobile": "MC"}[t.Use]
		out = append(out, Telecom{Use: use, Value: v})
	}
	return out
}

// bundleIndex resolves references inside a Bundle.
type bundleIndex struct {
	bundle fhirBundle
	byRef  map[string]*fhirResource
	all    []*fhirResource
}

func indexBundle(data []byte) (*bundleIndex, error) {
	var b fhirBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, &InputError{Field: "Bundle", Err: fmt.Errorf("not FHIR JSON: %w", err)}
	}
	if b.ResourceType != "Bundle" {
		return nil, &InputError{Field: "Bundle", Err: fmt.Errorf("resourceType %q, want Bundle", b.ResourceType)}
	}
	ix := &bundleIndex{bundle: b, byRef: map[string]*fhirResource{}}
	for i := range b.Entry {
		e := &b.Entry[i]
		r := &e.Resource
		if r.ResourceType == "PractitionerRole" && len(r.RawCode) > 0 {
			if err := json.Unmarshal(r.RawCode, &r.Code); err != nil {
				return nil, &InputError{Field: fmt.Sprintf("Bundle.entry[%d].resource.code", i), Err: err}
			}
		}
		ix.all = append(ix.all, r)
		if e.FullURL != "" {
			ix.byRef[e.FullURL] = r
		}
		if r.ID != "" {
			ix.byRef[r.ResourceType+"/"+r.ID] = r
		}
	}
	return ix, nil
}

func (ix *bundleIndex) resolve(ref *fhirRef, typ string) *fhirResource {
	if ref == nil {
		return nil
	}
	r := ix.byRef[ref.Reference]
	if r == nil || (typ != "" && r.ResourceType != typ) {
		return nil
	}
	return r
}

func (ix *bundleIndex) ofType(typ string) []*fhirResource {
	var out []*fhirResource
	for _, r := range ix.all {
		if r.ResourceType == typ {
			out = append(out, r)
		}
	}
	return out
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
