package ps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
)

// FHIR code system URIs and their CDA OIDs.
var fhirSystems = map[string]string{
	"http://snomed.info/sct":                                             OIDSNOMED,
	"http://loinc.org":                                                   OIDLOINC,
	"http://hl7.org/fhir/sid/icd-10":                                     OIDICD10,
	"http://www.whocc.no/atc":                                            OIDATC,
	"http://standardterms.edqm.eu":                                       OIDEDQM,
	"http://unitsofmeasure.org":                                          OIDUCUM,
	"http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips":        OIDAbsent,
	"http://terminology.hl7.org/CodeSystem/v3-RoleCode":                  "2.16.840.1.113883.5.111",
	"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": "2.16.840.1.113883.5.83",
}

// SystemOID maps a FHIR code system URI (or urn:oid:) to the CDA OID; ""
// when unknown.
func SystemOID(uri string) string {
	if o, ok := fhirSystems[uri]; ok {
		return o
	}
	if strings.HasPrefix(uri, "urn:oid:") {
		return strings.TrimPrefix(uri, "urn:oid:")
	}
	return ""
}

// Minimal FHIR R4 shapes: only the elements the IPS mapping reads.
type (
	fhirCoding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display"`
	}
	fhirCC struct {
		Coding []fhirCoding `json:"coding"`
		Text   string       `json:"text"`
	}
	fhirRef struct {
		Reference string `json:"reference"`
		Display   string `json:"display"`
	}
	fhirPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	fhirQty struct {
		Value *float64 `json:"value"`
		Unit  string   `json:"unit"`
		Code  string   `json:"code"`
	}
	fhirRatio struct {
		Numerator   fhirQty `json:"numerator"`
		Denominator fhirQty `json:"denominator"`
	}
	fhirName struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Prefix []string `json:"prefix"`
	}
	fhirAddr struct {
		Line       []string `json:"line"`
		City       string   `json:"city"`
		PostalCode string   `json:"postalCode"`
		Country    string   `json:"country"`
	}
	fhirTelecom struct {
		System string `json:"system"`
		Value  string `json:"value"`
		Use    string `json:"use"`
	}
	fhirIdent struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fhirSection struct {
		Title   string        `json:"title"`
		Code    codeField     `json:"code"`
		Entry   []fhirRef     `json:"entry"`
		Text    *fhirNarr     `json:"text"`
		Section []fhirSection `json:"section"`
	}
	fhirNarr struct {
		Div string `json:"div"`
	}
	// fhirResource is the union of the resource fields read.
	fhirResource struct {
		ResourceType string        `json:"resourceType"`
		ID           string        `json:"id"`
		Identifier   []fhirIdent   `json:"identifier"`
		Status       string        `json:"status"`
		Language     string        `json:"language"`
		Date         string        `json:"date"`
		Title        string        `json:"title"`
		Author       []fhirRef     `json:"author"`
		Custodian    *fhirRef      `json:"custodian"`
		Section      []fhirSection `json:"section"`
		// Patient / Practitioner / Organization
		Name          json.RawMessage `json:"name"`
		Gender        string          `json:"gender"`
		BirthDate     string          `json:"birthDate"`
		Address       []fhirAddr      `json:"address"`
		Telecom       []fhirTelecom   `json:"telecom"`
		Communication []struct {
			Language fhirCC `json:"language"`
		} `json:"communication"`
		Contact []struct {
			Relationship []fhirCC      `json:"relationship"`
			Name         fhirName      `json:"name"`
			Telecom      []fhirTelecom `json:"telecom"`
			Address      *fhirAddr     `json:"address"`
		} `json:"contact"`
		Practitioner *fhirRef `json:"practitioner"`
		Organization *fhirRef `json:"organization"`
		// clinical
		Code               codeField       `json:"code"`
		Type               json.RawMessage `json:"type"`
		Category           json.RawMessage `json:"category"`
		Criticality        string          `json:"criticality"`
		ClinicalStatus     fhirCC          `json:"clinicalStatus"`
		VerificationStatus fhirCC          `json:"verificationStatus"`
		OnsetDateTime      string          `json:"onsetDateTime"`
		AbatementDateTime  string          `json:"abatementDateTime"`
		Reaction           []struct {
			Manifestation []fhirCC `json:"manifestation"`
			Severity      string   `json:"severity"`
		} `json:"reaction"`
		MedicationReference       *fhirRef    `json:"medicationReference"`
		MedicationCodeableConcept *fhirCC     `json:"medicationCodeableConcept"`
		EffectivePeriod           *fhirPeriod `json:"effectivePeriod"`
		EffectiveDateTime         string      `json:"effectiveDateTime"`
		Dosage                    []struct {
			Route  fhirCC `json:"route"`
			Timing struct {
				Repeat struct {
					Period     float64 `json:"period"`
					PeriodUnit string  `json:"periodUnit"`
				} `json:"repeat"`
			} `json:"timing"`
			DoseAndRate []struct {
				DoseQuantity fhirQty `json:"doseQuantity"`
			} `json:"doseAndRate"`
		} `json:"dosage"`
		ReasonCode []fhirCC `json:"reasonCode"`
		Form       fhirCC   `json:"form"`
		Ingredient []struct {
			ItemCodeableConcept fhirCC    `json:"itemCodeableConcept"`
			Strength            fhirRatio `json:"strength"`
		} `json:"ingredient"`
		VaccineCode        fhirCC `json:"vaccineCode"`
		OccurrenceDateTime string `json:"occurrenceDateTime"`
		ProtocolApplied    []struct {
			DoseNumberPositiveInt int `json:"doseNumberPositiveInt"`
		} `json:"protocolApplied"`
		PerformedDateTime string      `json:"performedDateTime"`
		PerformedPeriod   *fhirPeriod `json:"performedPeriod"`
		Device            *fhirRef    `json:"device"`
		TimingPeriod      *fhirPeriod `json:"timingPeriod"`
		TimingDateTime    string      `json:"timingDateTime"`
		DeviceName        []struct {
			Name string `json:"name"`
		} `json:"deviceName"`
		UdiCarrier []struct {
			DeviceIdentifier string `json:"deviceIdentifier"`
		} `json:"udiCarrier"`
		ValueQuantity        *fhirQty    `json:"valueQuantity"`
		ValueCodeableConcept *fhirCC     `json:"valueCodeableConcept"`
		ValueString          string      `json:"valueString"`
		ValueDateTime        string      `json:"valueDateTime"`
		ValueInteger         *int        `json:"valueInteger"`
		Interpretation       []fhirCC    `json:"interpretation"`
		Description          string      `json:"description"`
		Period               *fhirPeriod `json:"period"`
		Note                 []struct {
			Text string `json:"text"`
		} `json:"note"`
		PolicyRule *fhirCC `json:"policyRule"`
		DateTime   string  `json:"dateTime"`
	}
	fhirBundle struct {
		ResourceType string     `json:"resourceType"`
		ID           string     `json:"id"`
		Type         string     `json:"type"`
		Timestamp    string     `json:"timestamp"`
		Identifier   *fhirIdent `json:"identifier"`
		Entry        []struct {
			FullURL  string       `json:"fullUrl"`
			Resource fhirResource `json:"resource"`
		} `json:"entry"`
	}
)

// ReadFHIR reads an HL7 FHIR R4 document Bundle shaped by the HL7 Europe
// Patient Summary / IPS profiles into a Summary. It is a pure function,
// bounded by lim (zero: defaults); MaxElements bounds the Bundle entries.
func ReadFHIR(data []byte, lim Limits) (*Summary, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if err := jsonDepth(data, lim.MaxDepth); err != nil {
		return nil, err
	}
	var b fhirBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("%w: not a FHIR Bundle", ErrMalformed)
	}
	if len(b.Entry) > lim.MaxElements {
		return nil, fmt.Errorf("%w: %d entries", ErrTooLarge, len(b.Entry))
	}
	r := &fhirReader{byRef: map[string]*fhirResource{}}
	var comp *fhirResource
	for i := range b.Entry {
		e := &b.Entry[i]
		res := e.Resource
		rp := &e.Resource
		r.order = append(r.order, rp)
		if e.FullURL != "" {
			r.byRef[e.FullURL] = rp
		}
		if res.ID != "" {
			r.byRef[res.ResourceType+"/"+res.ID] = rp
		}
		if res.ResourceType == "Composition" && comp == nil {
			comp = rp
		}
	}
	if comp == nil {
		return nil, fmt.Errorf("%w: no Composition", ErrMalformed)
	}
	s := &Summary{Format: "fhir", Language: comp.Language}
	if b.Identifier != nil && b.Identifier.Value != "" {
		s.Source = cda.II{Root: strings.TrimPrefix(b.Identifier.System, "urn:oid:"), Extension: b.Identifier.Value}
	}
	created := b.Timestamp
	if created == "" {
		created = comp.Date
	}
	t, err := parseFHIRTime(created)
	if err != nil {
		return nil, fmt.Errorf("%w: Bundle.timestamp / Composition.date: %v", ErrMalformed, err)
	}
	s.Created = t
	var pat *fhirResource
	for _, res := range r.order {
		if res.ResourceType == "Patient" {
			pat = res
			break
		}
	}
	if pat == nil {
		return nil, fmt.Errorf("%w: no Patient", ErrMalformed)
	}
	s.Patient = r.patient(pat)
	if len(s.Patient.IDs) == 0 {
		return nil, fmt.Errorf("%w: Patient has no matricule identifier", ErrMalformed)
	}
	for _, c := range pat.Contact {
		if s.Contact != nil {
			break
		}
		ct := &Contact{Name: convName(c.Name), Telecoms: convTelecoms(c.Telecom)}
		if c.Address != nil {
			ct.Addr = convAddr(*c.Address)
		}
		if len(c.Relationship) > 0 {
			ct.Relationship = firstCoding(c.Relationship[0])
		}
		s.Contact = ct
	}
	if len(comp.Author) > 0 {
		s.Author = r.author(comp.Author[0])
	}
	if s.Author.Time.IsZero() {
		if at, err := parseFHIRTime(comp.Date); err == nil {
			s.Author.Time = at
		}
	}
	if comp.Custodian != nil {
		if o := r.get(*comp.Custodian); o != nil {
			s.Custodian = r.org(o)
		}
	}
	for _, sec := range comp.Section {
		r.section(s, sec)
	}
	if len(s.Allergies) == 0 && s.AllergiesAbsent == "" {
		s.AllergiesAbsent = NoAllergyInfo
	}
	if len(s.Medications) == 0 && s.MedicationsAbs == "" {
		s.MedicationsAbs = NoMedicationInfo
	}
	if len(s.Problems) == 0 && s.ProblemsAbsent == "" {
		s.ProblemsAbsent = NoProblemInfo
	}
	return s, nil
}

// jsonDepth rejects JSON nested deeper than max, before unmarshalling
// (a byte scan: brackets outside strings).
func jsonDepth(data []byte, max int) error {
	depth, inStr, esc := 0, false, false
	for _, c := range data {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w: JSON nested deeper than %d", ErrTooLarge, max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

func parseFHIRTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid dateTime %q", s)
}

type fhirReader struct {
	byRef map[string]*fhirResource
	order []*fhirResource
}

func (r *fhirReader) get(ref fhirRef) *fhirResource { return r.byRef[ref.Reference] }

func firstCoding(cc fhirCC) Coding {
	for _, c := range cc.Coding {
		if o := SystemOID(c.System); o != "" && c.Code != "" {
			d := c.Display
			if d == "" {
				d = cc.Text
			}
			return Coding{Code: c.Code, System: o, Display: d}
		}
	}
	return Coding{}
}

// codingIn returns the coding of cc in system oid, else the first known one.
func codingIn(cc fhirCC, oid string) Coding {
	for _, c := range cc.Coding {
		if SystemOID(c.System) == oid {
			return Coding{Code: c.Code, System: oid, Display: c.Display}
		}
	}
	return firstCoding(cc)
}

func plainCode(cc fhirCC) string {
	if len(cc.Coding) > 0 {
		return cc.Coding[0].Code
	}
	return ""
}

func (cc fhirCC) has(code string) bool {
	for _, c := range cc.Coding {
		if c.Code == code {
			return true
		}
	}
	return false
}

func convName(n fhirName) cda.Name {
	return cda.Name{Family: n.Family, Given: n.Given, Prefix: n.Prefix}
}

func names(raw json.RawMessage) cda.Name {
	var ns []fhirName
	if json.Unmarshal(raw, &ns) == nil && len(ns) > 0 {
		return convName(ns[0])
	}
	return cda.Name{}
}

func convAddr(a fhirAddr) cda.Address {
	return cda.Address{Lines: a.Line, City: a.City, PostalCode: a.PostalCode, Country: countryISO2(a.Country)}
}

func convTelecoms(ts []fhirTelecom) []cda.Telecom {
	var out []cda.Telecom
	for _, t := range ts {
		v := t.Value
		switch t.System {
		case "phone":
			v = "tel:" + strings.ReplaceAll(v, " ", "")
		case "email":
			v = "mailto:" + v
		case "url":
		default:
			continue
		}
		use := map[string]string{"home": "HP", "work": "WP", "mobile": "MC"}[t.Use]
		out = append(out, cda.Telecom{Use: use, Value: v})
	}
	return out
}

func (r *fhirReader) patient(p *fhirResource) cda.Patient {
	out := cda.Patient{Name: names(p.Name), Gender: p.Gender, Birth: p.BirthDate, Telecoms: convTelecoms(p.Telecom)}
	for _, id := range p.Identifier {
		if id.System == "urn:oid:1.3.182.4.4" && id.Value != "" {
			out.IDs = append(out.IDs, cda.II{Root: "1.3.182.4.4", Extension: id.Value})
		}
	}
	if len(p.Address) > 0 {
		out.Addr = convAddr(p.Address[0])
	}
	if len(p.Communication) > 0 {
		out.Language = plainCode(p.Communication[0].Language)
	}
	return out
}

func (r *fhirReader) org(o *fhirResource) cda.Organization {
	var name string
	_ = json.Unmarshal(o.Name, &name)
	out := cda.Organization{Name: name, Telecoms: convTelecoms(o.Telecom)}
	for _, id := range o.Identifier {
		if oid := strings.TrimPrefix(id.System, "urn:oid:"); oid != id.System && id.Value != "" {
			out.IDs = append(out.IDs, cda.II{Root: oid, Extension: id.Value})
		}
	}
	if len(o.Address) > 0 {
		out.Addr = convAddr(o.Address[0])
	}
	return out
}

func (r *fhirReader) author(ref fhirRef) cda.Author {
	var a cda.Author
	res := r.get(ref)
	if res == nil {
		return a
	}
	prac := res
	if res.ResourceType == "PractitionerRole" {
		if len(res.Code.Coding) > 0 {
			a.Function = firstCoding(res.Code.fhirCC)
		} else {
			var roles []fhirCC
			if json.Unmarshal(res.Type, &roles) == nil && len(roles) > 0 {
				a.Function = firstCoding(roles[0])
			}
		}
		if res.Organization != nil {
			if o := r.get(*res.Organization); o != nil {
				a.Organization = r.org(o)
			}
		}
		if res.Practitioner != nil {
			prac = r.get(*res.Practitioner)
		}
		if prac == nil {
			return a
		}
		a.Telecoms = convTelecoms(res.Telecom)
	}
	if prac.ResourceType == "Organization" {
		a.Organization = r.org(prac)
		return a
	}
	a.Name = names(prac.Name)
	for _, id := range prac.Identifier {
		if oid := strings.TrimPrefix(id.System, "urn:oid:"); oid != id.System && id.Value != "" {
			a.IDs = append(a.IDs, cda.II{Root: oid, Extension: id.Value})
		}
	}
	if len(prac.Address) > 0 {
		a.Addr = convAddr(prac.Address[0])
	}
	if len(a.Telecoms) == 0 {
		a.Telecoms = convTelecoms(prac.Telecom)
	}
	return a
}

func (r *fhirReader) section(s *Summary, sec fhirSection) {
	code := codingIn(sec.Code.fhirCC, OIDLOINC).Code
	for _, ref := range sec.Entry {
		res := r.get(ref)
		if res == nil {
			continue
		}
		switch res.ResourceType {
		case "AllergyIntolerance":
			if a, absent := r.allergy(res); absent != "" {
				s.AllergiesAbsent = absent
			} else {
				s.Allergies = append(s.Allergies, a)
			}
		case "MedicationStatement", "MedicationRequest":
			if m, absent := r.medication(res); absent != "" {
				s.MedicationsAbs = absent
			} else {
				s.Medications = append(s.Medications, m)
			}
		case "Condition":
			p, absent := r.condition(res)
			switch {
			case absent != "":
				s.ProblemsAbsent = absent
			case code == "11348-0" || (code != "11450-4" && p.End != ""):
				s.PastIllnesses = append(s.PastIllnesses, p)
			default:
				s.Problems = append(s.Problems, p)
			}
		case "Procedure":
			if c := firstCoding(res.Code.fhirCC); c.System == OIDAbsent {
				s.ProceduresAbs = c.Code
				continue
			}
			date := res.PerformedDateTime
			if date == "" && res.PerformedPeriod != nil {
				date = res.PerformedPeriod.Start
			}
			s.Procedures = append(s.Procedures, Procedure{Code: firstCoding(res.Code.fhirCC), Date: fhirDate(date), Text: res.Code.Text})
		case "DeviceUseStatement":
			d := Device{}
			if res.Device != nil {
				if dev := r.get(*res.Device); dev != nil {
					var typ fhirCC
					_ = json.Unmarshal(dev.Type, &typ)
					d.Code = firstCoding(typ)
					d.Text = typ.Text
					if len(dev.UdiCarrier) > 0 {
						d.ID = dev.UdiCarrier[0].DeviceIdentifier
					} else if len(dev.Identifier) > 0 {
						d.ID = dev.Identifier[0].Value
					}
				}
			}
			if d.Code.System == OIDAbsent {
				s.DevicesAbsent = d.Code.Code
				continue
			}
			if res.TimingPeriod != nil {
				d.Start, d.End = fhirDate(res.TimingPeriod.Start), fhirDate(res.TimingPeriod.End)
			} else {
				d.Start = fhirDate(res.TimingDateTime)
			}
			s.Devices = append(s.Devices, d)
		case "Immunization":
			im := Immunization{Vaccine: firstCoding(res.VaccineCode), Date: fhirDate(res.OccurrenceDateTime), Text: res.VaccineCode.Text}
			if len(res.ProtocolApplied) > 0 {
				im.Dose = res.ProtocolApplied[0].DoseNumberPositiveInt
			}
			for _, c := range res.VaccineCode.Coding {
				if c.System == "urn:oid:1.3.182.4.13" {
					im.Name = c.Display
				}
			}
			s.Immunizations = append(s.Immunizations, im)
		case "Observation":
			r.observation(s, code, res)
		case "CarePlan":
			it := TextItem{Text: res.Description}
			if res.Period != nil {
				it.Date = fhirDate(res.Period.Start)
			}
			if it.Text == "" && len(res.Note) > 0 {
				it.Text = res.Note[0].Text
			}
			s.CarePlan = append(s.CarePlan, it)
		case "Consent":
			it := TextItem{Date: fhirDate(res.DateTime)}
			if res.PolicyRule != nil {
				it.Text = res.PolicyRule.Text
			}
			if it.Text == "" {
				var cats []fhirCC
				if json.Unmarshal(res.Category, &cats) == nil && len(cats) > 0 {
					it.Text = cats[0].Text
				}
			}
			s.Directives = append(s.Directives, it)
		}
	}
	for _, sub := range sec.Section {
		r.section(s, sub)
	}
}

var severitySNOMED = map[string]Coding{
	"mild":     {Code: "255604002", System: OIDSNOMED, Display: "Mild"},
	"moderate": {Code: "6736007", System: OIDSNOMED, Display: "Moderate"},
	"severe":   {Code: "24484000", System: OIDSNOMED, Display: "Severe"},
}

func (r *fhirReader) allergy(res *fhirResource) (Allergy, string) {
	agent := firstCoding(res.Code.fhirCC)
	if agent.System == OIDAbsent {
		return Allergy{}, agent.Code
	}
	if agent.System == OIDSNOMED && agent.Code == snomedNoKnownAllergy {
		return Allergy{}, NoKnownAllergies
	}
	a := Allergy{Agent: agent, Criticality: res.Criticality, Status: plainCode(res.ClinicalStatus),
		Certainty: plainCode(res.VerificationStatus), Onset: fhirDate(res.OnsetDateTime), Text: res.Code.Text}
	var typ string
	_ = json.Unmarshal(res.Type, &typ)
	if typ == "intolerance" {
		a.Type = Coding{Code: "782197009", System: OIDSNOMED, Display: "Intolérance"}
	} else {
		a.Type = Coding{Code: "609328004", System: OIDSNOMED, Display: "Allergie"}
	}
	if len(res.Reaction) > 0 {
		rx := res.Reaction[0]
		if len(rx.Manifestation) > 0 {
			a.Reaction = firstCoding(rx.Manifestation[0])
		}
		a.Severity = severitySNOMED[rx.Severity]
	}
	return a, ""
}

func (r *fhirReader) medication(res *fhirResource) (Medicine, string) {
	var m Medicine
	med := res.MedicationCodeableConcept
	var medRes *fhirResource
	if res.MedicationReference != nil {
		if mr := r.get(*res.MedicationReference); mr != nil {
			medRes = mr
			med = &mr.Code.fhirCC
		}
	}
	if med == nil {
		return m, NoMedicationInfo
	}
	if c := firstCoding(*med); c.System == OIDAbsent {
		return m, c.Code
	}
	m.Product = codingIn(*med, OIDLUProduct)
	m.Name = med.Text
	if medRes != nil {
		m.DoseForm = codingIn(medRes.Form, OIDEDQM)
		for _, in := range medRes.Ingredient {
			ing := Ingredient{Substance: codingIn(in.ItemCodeableConcept, OIDATC)}
			if v := in.Strength.Numerator.Value; v != nil {
				ing.StrengthValue = *v
				ing.StrengthUnit = in.Strength.Numerator.Code
			}
			m.Ingredients = append(m.Ingredients, ing)
		}
	}
	if p := res.EffectivePeriod; p != nil {
		m.Start, m.End = fhirDate(p.Start), fhirDate(p.End)
	} else {
		m.Start = fhirDate(res.EffectiveDateTime)
	}
	if len(res.Dosage) > 0 {
		d := res.Dosage[0]
		m.Route = codingIn(d.Route, OIDEDQM)
		m.PeriodValue, m.PeriodUnit = d.Timing.Repeat.Period, d.Timing.Repeat.PeriodUnit
		if len(d.DoseAndRate) > 0 && d.DoseAndRate[0].DoseQuantity.Value != nil {
			m.DoseValue = *d.DoseAndRate[0].DoseQuantity.Value
			m.DoseUnit = d.DoseAndRate[0].DoseQuantity.Code
		}
	}
	if len(res.ReasonCode) > 0 {
		m.Reason = firstCoding(res.ReasonCode[0])
	}
	return m, ""
}

func (r *fhirReader) condition(res *fhirResource) (Problem, string) {
	c := codingIn(res.Code.fhirCC, OIDICD10)
	if c.System == OIDAbsent {
		return Problem{}, c.Code
	}
	if c.System == OIDSNOMED && c.Code == snomedNoCurrentProblems {
		return Problem{}, NoKnownProblems
	}
	p := Problem{Code: c, Onset: fhirDate(res.OnsetDateTime), End: fhirDate(res.AbatementDateTime), Status: plainCode(res.ClinicalStatus), Text: res.Code.Text}
	return p, ""
}

func (r *fhirReader) observation(s *Summary, section string, res *fhirResource) {
	code := codingIn(res.Code.fhirCC, OIDLOINC)
	if code.System != OIDLOINC {
		code = firstCoding(res.Code.fhirCC)
	}
	o := Observation{Code: code, Text: res.Code.Text}
	if res.EffectivePeriod != nil {
		o.Date, o.End = fhirDate(res.EffectivePeriod.Start), fhirDate(res.EffectivePeriod.End)
	} else {
		o.Date = fhirDate(res.EffectiveDateTime)
	}
	switch {
	case res.ValueQuantity != nil && res.ValueQuantity.Value != nil:
		o.Value, o.Unit, o.IsQuantity = *res.ValueQuantity.Value, res.ValueQuantity.Code, true
	case res.ValueCodeableConcept != nil:
		o.Coded = firstCoding(*res.ValueCodeableConcept)
	case res.ValueInteger != nil:
		o.Value, o.Unit, o.IsQuantity = float64(*res.ValueInteger), "1", true
	default:
		o.String = res.ValueString
	}
	if len(res.Interpretation) > 0 {
		o.Interp = plainCode(res.Interpretation[0])
	}
	// Pregnancy: status 82810-3, expected delivery date 11778-8, outcomes.
	if section == "10162-6" || code.Code == "82810-3" || code.Code == "11778-8" {
		if s.Pregnancy == nil {
			s.Pregnancy = &Pregnancy{}
		}
		switch code.Code {
		case "82810-3":
			s.Pregnancy.Status, s.Pregnancy.Observed = o.Coded, o.Date
		case "11778-8", "11779-6", "11780-4":
			s.Pregnancy.ExpectedBirth = fhirDate(res.ValueDateTime)
			if s.Pregnancy.Observed == "" {
				s.Pregnancy.Observed = o.Date
			}
		default:
			s.Pregnancy.Outcomes = append(s.Pregnancy.Outcomes, PregnancyOutcome{Outcome: code, Count: int(o.Value)})
		}
		return
	}
	cat := ""
	var cats []fhirCC
	if json.Unmarshal(res.Category, &cats) == nil && len(cats) > 0 {
		cat = plainCode(cats[0])
	}
	switch {
	case section == "8716-3" || (section == "" && cat == "vital-signs"):
		s.VitalSigns = append(s.VitalSigns, o)
	case section == "29762-2" || (section == "" && cat == "social-history"):
		s.Social = append(s.Social, o)
	case section == "47420-5" || (section == "" && cat == "survey"):
		s.Functional = append(s.Functional, o)
	default:
		s.Results = append(s.Results, o)
	}
}

// fhirDate keeps the date part (day precision at most) of a FHIR date/dateTime.
func fhirDate(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// codeField reads "code" as a CodeableConcept, or the first of a list
// (PractitionerRole.code is 0..*).
type codeField struct{ fhirCC }

func (c *codeField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []fhirCC
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		if len(l) > 0 {
			c.fhirCC = l[0]
		}
		return nil
	}
	return json.Unmarshal(b, &c.fhirCC)
}
