package cda

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/terminology"
)

// FHIR extension and identifier conventions of the national prescription Bundle.
const (
	// ExtPackageType on Medication: the EDQM package (container) type.
	ExtPackageType = "http://hl7.eu/fhir/StructureDefinition/medication-packageType"
	// OIDLUProduct is the Luxembourg medicinal product code system (10 digits).
	OIDLUProduct = "1.3.182.4.13"
	// OIDMatricule is the Luxembourg national identification number.
	OIDMatricule = "1.3.182.4.4"
)

// Quantity is a value with a UCUM unit ("1" for countable units).
type Quantity struct {
	Value float64
	Unit  string
}

// String formats q as "500 mg" ("30" for unit "1").
func (q Quantity) String() string {
	v := strconv.FormatFloat(q.Value, 'f', -1, 64)
	if q.Unit == "" || q.Unit == "1" {
		return v
	}
	return v + " " + q.Unit
}

// Ingredient is an active ingredient with its strength (Strength per Per).
type Ingredient struct {
	Name     string
	Code     terminology.Coding // substance (ATC or other), optional
	Strength Quantity
	Per      Quantity
}

// Product is the prescribed medicinal product.
type Product struct {
	Code        terminology.Coding // Luxembourg product code (1.3.182.4.13)
	Name        string
	ATC         terminology.Coding // optional: ATC as the national side knows it
	DoseForm    terminology.Coding // EDQM
	Package     terminology.Coding // EDQM package type, optional
	PackSize    Quantity           // units per package (Medication.amount numerator)
	Ingredients []Ingredient
}

// Item is one prescribed medicine (one MedicationRequest).
type Item struct {
	ID                  II
	Status              string // FHIR MedicationRequest.status
	Product             Product
	Dosage              string // free-text dosage (dosageInstruction.text)
	PatientInstructions string
	PharmacistNote      string
	// Structured dosage, when given: Dose (or DoseLow..DoseHigh) Frequency times per Period PeriodUnit.
	Dose, DoseHigh Quantity
	Frequency      int
	Period         float64
	PeriodUnit     string // FHIR UCUM: s, min, h, d, wk, mo, a
	AsNeeded       bool
	Route          terminology.Coding // EDQM route, optional
	// Treatment period (dosage bounds) and dispensing validity period, FHIR dates.
	Start, End            string
	ValidFrom, ValidUntil string
	Packages              float64 // number of packages to dispense
	Repeats               int     // numberOfRepeatsAllowed
	SubstitutionAllowed   bool
	Dispensed             int // MedicationDispense (completed) resources in the Bundle for this item
}

// Prescription is a national prescription read from its FHIR Bundle.
type Prescription struct {
	ID         II // the national prescription id (Bundle.identifier)
	Matricule  string
	Patient    Patient
	Prescriber Author
	Authored   string // FHIR dateTime
	Items      []Item
}

// Matricule returns the patient's national identification number from its ids.
func (p *Prescription) matricule() string {
	for _, id := range p.Patient.IDs {
		if id.Root == OIDMatricule {
			return id.Extension
		}
	}
	return ""
}

// ParsePrescription reads a national prescription Bundle. Missing essentials
// (patient, prescriber, medication request, product) are *InputError.
func ParsePrescription(bundle []byte) (*Prescription, error) {
	ix, err := indexBundle(bundle)
	if err != nil {
		return nil, err
	}
	p := &Prescription{}
	b := ix.bundle
	switch {
	case b.Identifier != nil && OIDOf(b.Identifier.System) != "" && b.Identifier.Value != "":
		p.ID = II{Root: OIDOf(b.Identifier.System), Extension: b.Identifier.Value}
	default:
		return nil, missing("Bundle.identifier (prescription id)")
	}
	reqs := ix.ofType("MedicationRequest")
	if len(reqs) == 0 {
		return nil, missing("MedicationRequest")
	}
	first := reqs[0]
	pat := ix.resolve(first.Subject, "Patient")
	if pat == nil {
		return nil, missing("MedicationRequest.subject (Patient)")
	}
	p.Patient = Patient{IDs: pat.ids(), Name: pat.humanName(), Gender: pat.Gender, Birth: pat.BirthDate, Addr: pat.addr(), Telecoms: pat.telecoms()}
	for _, c := range pat.Communication {
		if c.Language.Coding != nil {
			p.Patient.Language = c.Language.Coding[0].Code
			break
		}
	}
	p.Matricule = p.matricule()
	if p.Matricule == "" {
		return nil, missing("Patient.identifier " + OIDMatricule)
	}
	p.Authored = first.AuthoredOn
	if err := p.readPrescriber(ix, first); err != nil {
		return nil, err
	}
	dispensed := map[string]int{}
	for _, d := range ix.ofType("MedicationDispense") {
		if d.Status != "completed" {
			continue
		}
		for _, ref := range d.AuthorizingPrescription {
			dispensed[ref.Reference]++
		}
	}
	for i, r := range reqs {
		it, err := readItem(ix, r, i)
		if err != nil {
			return nil, err
		}
		it.Dispensed = dispensed["MedicationRequest/"+r.ID]
		p.Items = append(p.Items, it)
	}
	return p, nil
}

func (p *Prescription) readPrescriber(ix *bundleIndex, req *fhirResource) error {
	var role, prac, org *fhirResource
	if r := ix.resolve(req.Requester, ""); r != nil {
		switch r.ResourceType {
		case "PractitionerRole":
			role = r
			prac = ix.resolve(r.Practitioner, "Practitioner")
			org = ix.resolve(r.Organization, "Organization")
		case "Practitioner":
			prac = r
		}
	}
	if prac == nil {
		return missing("MedicationRequest.requester (Practitioner)")
	}
	a := Author{Professional: Professional{IDs: prac.ids(), Name: prac.humanName(), Addr: prac.addr(), Telecoms: prac.telecoms()}}
	if org == nil {
		if orgs := ix.ofType("Organization"); len(orgs) > 0 {
			org = orgs[0]
		}
	}
	if org == nil {
		return missing("prescriber Organization")
	}
	a.Organization = Organization{IDs: org.ids(), Name: org.orgName(), Telecoms: org.telecoms(), Addr: org.addr()}
	if a.Addr.IsZero() {
		a.Addr = a.Organization.Addr
	}
	if len(a.Telecoms) == 0 {
		a.Telecoms = a.Organization.Telecoms
	}
	if role != nil {
		for _, cc := range role.Code {
			if c, ok := cc.find(OIDISCO); ok {
				a.Function = c
				break
			}
		}
	}
	if t, err := time.Parse(time.RFC3339, req.AuthoredOn); err == nil {
		a.Time = t
	}
	p.Prescriber = a
	return nil
}

func quantity(q *fhirQuantity) Quantity {
	if q == nil || q.Value == nil {
		return Quantity{}
	}
	u := q.Code
	if u == "" {
		u = q.Unit
	}
	if u == "" {
		u = "1"
	}
	return Quantity{Value: *q.Value, Unit: u}
}

func readItem(ix *bundleIndex, r *fhirResource, n int) (Item, error) {
	it := Item{Status: r.Status}
	ids := r.ids()
	if len(ids) == 0 {
		return it, missing(fmt.Sprintf("MedicationRequest[%d].identifier", n))
	}
	it.ID = ids[0]
	med := ix.resolve(r.MedicationReference, "Medication")
	if med == nil {
		return it, missing(fmt.Sprintf("MedicationRequest[%d].medicationReference (Medication)", n))
	}
	var code fhirCC
	if len(med.RawCode) > 0 {
		if err := jsonUnmarshal(med.RawCode, &code); err != nil {
			return it, &InputError{Field: "Medication.code", Err: err}
		}
	}
	pr := Product{Name: code.text()}
	pr.Code, _ = code.find(OIDLUProduct)
	pr.ATC, _ = code.find(OIDATC)
	pr.DoseForm, _ = med.Form.find(OIDEDQM)
	if pr.DoseForm.Display == "" && med.Form != nil {
		pr.DoseForm.Display = med.Form.Text
	}
	for _, e := range med.Extension {
		if e.URL == ExtPackageType {
			pr.Package, _ = e.ValueCodeableConcept.find(OIDEDQM)
		}
	}
	if med.Amount != nil {
		pr.PackSize = quantity(med.Amount.Numerator)
	}
	for _, ing := range med.Ingredient {
		if ing.IsActive != nil && !*ing.IsActive {
			continue
		}
		in := Ingredient{Name: ing.ItemCodeableConcept.text()}
		in.Code, _ = ing.ItemCodeableConcept.find("")
		if ing.Strength != nil {
			in.Strength = quantity(ing.Strength.Numerator)
			in.Per = quantity(ing.Strength.Denominator)
		}
		if in.Per.Value == 0 {
			in.Per = Quantity{Value: 1, Unit: "1"}
		}
		pr.Ingredients = append(pr.Ingredients, in)
	}
	if pr.Name == "" {
		return it, missing("Medication.code.text (product name)")
	}
	it.Product = pr
	for i, d := range r.DosageInstruction {
		if i > 0 {
			if d.Text != "" {
				it.Dosage += "; " + d.Text
			}
			continue
		}
		it.Dosage = d.Text
		it.PatientInstructions = d.PatientInstruction
		it.AsNeeded = d.AsNeededBoolean
		it.Route, _ = d.Route.find(OIDEDQM)
		if d.Timing != nil && d.Timing.Repeat != nil {
			rp := d.Timing.Repeat
			it.Frequency, it.Period, it.PeriodUnit = rp.Frequency, rp.Period, rp.PeriodUnit
			if rp.BoundsPeriod != nil {
				it.Start, it.End = rp.BoundsPeriod.Start, rp.BoundsPeriod.End
			}
		}
		if len(d.DoseAndRate) > 0 {
			dr := d.DoseAndRate[0]
			if dr.DoseQuantity != nil {
				it.Dose = quantity(dr.DoseQuantity)
			} else if dr.DoseRange != nil {
				it.Dose, it.DoseHigh = quantity(dr.DoseRange.Low), quantity(dr.DoseRange.High)
			}
		}
	}
	var notes []string
	for _, nt := range r.Note {
		notes = append(notes, nt.Text)
	}
	it.PharmacistNote = strings.Join(notes, " ")
	if dr := r.DispenseRequest; dr != nil {
		if dr.ValidityPeriod != nil {
			it.ValidFrom, it.ValidUntil = dr.ValidityPeriod.Start, dr.ValidityPeriod.End
		}
		if dr.NumberOfRepeatsAllowed != nil {
			it.Repeats = *dr.NumberOfRepeatsAllowed
		}
		if dr.Quantity != nil && dr.Quantity.Value != nil {
			it.Packages = *dr.Quantity.Value
		}
	}
	if it.Packages <= 0 {
		it.Packages = 1
	}
	if s := r.Substitution; s != nil {
		switch {
		case s.AllowedBoolean != nil:
			it.SubstitutionAllowed = *s.AllowedBoolean
		case s.AllowedCodeableConcept != nil:
			c, _ := s.AllowedCodeableConcept.find("")
			it.SubstitutionAllowed = c.Code != "" && c.Code != "N"
		}
	}
	return it, nil
}

// ErrNoRenderableItem is wrapped (in an *InputError) when a prescription has
// no item a pivot ePrescription may carry: all are cancelled,
// entered-in-error, draft or of unknown status. Summarize tells the XCA list
// not to offer those.
var ErrNoRenderableItem = errors.New("prescription has no item to render (cancelled, entered-in-error or draft)")
