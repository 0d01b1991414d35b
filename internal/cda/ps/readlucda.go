package ps

import (
	"fmt"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
)

// Luxembourg national CDA template ids.
const (
	luTplHeader = "1.3.182.11.9"
	luTplPS     = "1.3.182.11.10"
	luSec       = "1.3.182.11.10.2."
)

// Section templates of the national Patient Summary. 2.1–2.8 are the ones
// the shared care record uses today; 2.9–2.14 carry the sections it adds
// for the eHDSI Patient Summary (vital signs, social history, results,
// care plan, advance directives, functional status).
const (
	luSecImmunizations = luSec + "1"
	luSecAllergies     = luSec + "2"
	luSecPregnancy     = luSec + "3"
	luSecDevices       = luSec + "4"
	luSecProblems      = luSec + "5"
	luSecPastIllness   = luSec + "6"
	luSecMedications   = luSec + "7"
	luSecSurgeries     = luSec + "8"
	luSecVitalSigns    = luSec + "9"
	luSecSocial        = luSec + "10"
	luSecResults       = luSec + "11"
	luSecCarePlan      = luSec + "12"
	luSecDirectives    = luSec + "13"
	luSecFunctional    = luSec + "14"
)

// SNOMED CT codes a national document uses to say "nothing known".
const (
	snomedNoKnownAllergy    = "716186003" // No known allergy
	snomedNoDrugTherapy     = "182849000" // No drug therapy prescribed
	snomedNoCurrentProblems = "160245001" // No current problems or disability
)

// ReadLUCDA reads a Luxembourg national CDA Patient Summary (shared care
// record templates 1.3.182.11.9 / 1.3.182.11.10) into a Summary. It is a
// pure function: no network, no DTD, input bounded by lim (zero: defaults).
func ReadLUCDA(data []byte, lim Limits) (*Summary, error) {
	root, err := parseXML(data, lim)
	if err != nil {
		return nil, err
	}
	if root.name != "ClinicalDocument" || root.space != nsHL7 {
		return nil, fmt.Errorf("%w: root element is not hl7:ClinicalDocument", ErrMalformed)
	}
	if !root.hasTemplate(luTplPS) && !root.hasTemplate(luTplHeader) && root.child("code").attr("code") != "60591-5" {
		return nil, fmt.Errorf("%w: not a Luxembourg patient summary (no template %s)", ErrMalformed, luTplPS)
	}
	r := &luReader{anchors: map[string]*node{}}
	root.ids(r.anchors)
	s := &Summary{Format: "lu-cda"}
	id := root.child("id")
	s.Source = cda.II{Root: id.attr("root"), Extension: id.attr("extension")}
	if t, ok := cda.ParseTS(root.child("effectiveTime").attr("value")); ok {
		s.Created = t
	} else {
		return nil, fmt.Errorf("%w: document effectiveTime missing or invalid", ErrMalformed)
	}
	s.Language = root.child("languageCode").attr("code")
	pr := root.path("recordTarget", "patientRole")
	if pr == nil {
		return nil, fmt.Errorf("%w: no recordTarget/patientRole", ErrMalformed)
	}
	s.Patient = r.patient(pr)
	if len(s.Patient.IDs) == 0 {
		return nil, fmt.Errorf("%w: no patient identifier", ErrMalformed)
	}
	if au := root.child("author"); au != nil {
		s.Author = r.author(au)
	}
	if org := root.path("custodian", "assignedCustodian", "representedCustodianOrganization"); org != nil {
		s.Custodian = r.org(org)
	}
	for _, p := range root.children("participant") {
		if ae := p.child("associatedEntity"); ae != nil && p.attr("typeCode") == "IND" && s.Contact == nil {
			s.Contact = &Contact{Relationship: r.coding(ae.child("code")), Name: r.name(ae.path("associatedPerson", "name")),
				Telecoms: r.telecoms(ae), Addr: r.addr(ae.child("addr"))}
		}
	}
	for _, comp := range root.path("component", "structuredBody").children("component") {
		sec := comp.child("section")
		if sec == nil {
			continue
		}
		if err := r.section(s, sec); err != nil {
			return nil, err
		}
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

type luReader struct {
	anchors map[string]*node
}

func (r *luReader) section(s *Summary, sec *node) error {
	tpl := ""
	for _, t := range sec.children("templateId") {
		if strings.HasPrefix(t.attr("root"), luSec) {
			tpl = t.attr("root")
		}
	}
	if tpl == "" {
		tpl = sectionByCode[sec.child("code").attr("code")]
	}
	entries := sec.children("entry")
	switch tpl {
	case luSecAllergies:
		for _, e := range entries {
			act := e.child("act")
			for _, er := range act.children("entryRelationship") {
				if o := er.child("observation"); o != nil {
					if a, absent := r.allergy(act, o); absent != "" {
						s.AllergiesAbsent = absent
					} else {
						s.Allergies = append(s.Allergies, a)
					}
				}
			}
		}
	case luSecMedications:
		for _, e := range entries {
			if sa := e.child("substanceAdministration"); sa != nil {
				if m, absent := r.medication(sa); absent != "" {
					s.MedicationsAbs = absent
				} else {
					s.Medications = append(s.Medications, m)
				}
			}
		}
	case luSecProblems, luSecPastIllness:
		for _, e := range entries {
			act := e.child("act")
			for _, er := range act.children("entryRelationship") {
				o := er.child("observation")
				if o == nil {
					continue
				}
				p := r.problem(act, o)
				switch {
				case p.Code.Code == snomedNoCurrentProblems && p.Code.System == OIDSNOMED:
					s.ProblemsAbsent = NoKnownProblems
				case tpl == luSecProblems:
					s.Problems = append(s.Problems, p)
				default:
					s.PastIllnesses = append(s.PastIllnesses, p)
				}
			}
		}
	case luSecSurgeries:
		for _, e := range entries {
			if p := e.child("procedure"); p != nil {
				s.Procedures = append(s.Procedures, Procedure{Code: r.coding(p.child("code")), Date: r.date(p.child("effectiveTime"), p), Text: r.refText(p.child("code"))})
			}
		}
	case luSecDevices:
		for _, e := range entries {
			sp := e.child("supply")
			if sp == nil {
				continue
			}
			role := sp.path("participant", "participantRole")
			d := Device{Code: r.coding(role.path("playingDevice", "code")), ID: role.child("id").attr("extension"),
				Text: r.refText(role.path("playingDevice", "code"))}
			et := sp.child("effectiveTime")
			d.Start, d.End = r.interval(et)
			if d.Start == "" && et.child("low") == nil {
				d.Start = hl7Date(et.attr("value"))
			}
			s.Devices = append(s.Devices, d)
		}
	case luSecImmunizations:
		for _, e := range entries {
			sa := e.child("substanceAdministration")
			if sa == nil {
				continue
			}
			mm := sa.path("consumable", "manufacturedProduct", "manufacturedMaterial")
			im := Immunization{Vaccine: r.coding(mm.child("code")), Date: r.date(sa.child("effectiveTime"), sa), Text: r.refText(mm.child("code"))}
			if n := mm.child("name"); n != nil && n.attr("nullFlavor") == "" {
				im.Name = strings.TrimSpace(n.allText())
			}
			for _, er := range sa.children("entryRelationship") {
				if o := er.child("observation"); o != nil && o.child("code").attr("code") == "30973-2" {
					fmt.Sscan(o.child("value").attr("value"), &im.Dose)
				}
			}
			s.Immunizations = append(s.Immunizations, im)
		}
	case luSecPregnancy:
		p := &Pregnancy{Status: Coding{Code: "77386006", System: OIDSNOMED, Display: "Enceinte"}}
		for _, e := range entries {
			o := e.child("observation")
			if o == nil {
				continue
			}
			switch code := o.child("code").attr("code"); {
			case code == "11778-8" || code == "11779-6" || code == "11780-4":
				p.ExpectedBirth = hl7Date(o.child("value").attr("value"))
				p.Observed = hl7Date(o.child("effectiveTime").attr("value"))
			case code == "82810-3":
				p.Status = r.coding(o.child("value"))
				p.Observed = hl7Date(o.child("effectiveTime").attr("value"))
			default:
				var n int
				fmt.Sscan(o.child("value").attr("value"), &n)
				p.Outcomes = append(p.Outcomes, PregnancyOutcome{Outcome: r.coding(o.child("code")), Count: n})
			}
		}
		s.Pregnancy = p
	case luSecVitalSigns, luSecSocial, luSecResults, luSecFunctional:
		var obs []Observation
		for _, e := range entries {
			if o := e.child("observation"); o != nil {
				obs = append(obs, r.observation(o))
			}
			if org := e.child("organizer"); org != nil {
				for _, c := range org.children("component") {
					if o := c.child("observation"); o != nil {
						obs = append(obs, r.observation(o))
					}
				}
			}
		}
		if len(obs) == 0 {
			obs = r.narrativeObservations(sec)
		}
		switch tpl {
		case luSecVitalSigns:
			s.VitalSigns = append(s.VitalSigns, obs...)
		case luSecSocial:
			s.Social = append(s.Social, obs...)
		case luSecResults:
			s.Results = append(s.Results, obs...)
		default:
			s.Functional = append(s.Functional, obs...)
		}
	case luSecCarePlan:
		s.CarePlan = append(s.CarePlan, r.textItems(sec)...)
	case luSecDirectives:
		s.Directives = append(s.Directives, r.textItems(sec)...)
	}
	return nil
}

var sectionByCode = map[string]string{
	"11369-6": luSecImmunizations, "48765-2": luSecAllergies, "10162-6": luSecPregnancy, "46264-8": luSecDevices,
	"11450-4": luSecProblems, "11348-0": luSecPastIllness, "10160-0": luSecMedications, "47519-4": luSecSurgeries,
	"8716-3": luSecVitalSigns, "29762-2": luSecSocial, "30954-2": luSecResults, "18776-5": luSecCarePlan,
	"42348-3": luSecDirectives, "47420-5": luSecFunctional,
}

func (r *luReader) allergy(act, o *node) (Allergy, string) {
	a := Allergy{Type: r.coding(o.child("code")), Status: "active"}
	if v := r.coding(o.child("value")); v.Code == snomedNoKnownAllergy {
		return a, NoKnownAllergies
	}
	if a.Type.Code == snomedNoKnownAllergy {
		return a, NoKnownAllergies
	}
	a.Agent = r.coding(o.path("participant", "participantRole", "playingEntity", "code"))
	a.Onset, a.End = r.interval(o.child("effectiveTime"))
	if a.Onset == "" {
		a.Onset, a.End = r.interval(act.child("effectiveTime"))
	}
	if act.child("statusCode").attr("code") == "completed" {
		a.Status = "resolved"
	}
	for _, er := range o.children("entryRelationship") {
		x := er.child("observation")
		if x == nil {
			continue
		}
		switch {
		case er.attr("typeCode") == "MFST":
			a.Reaction = r.coding(x.child("value"))
			for _, er2 := range x.children("entryRelationship") {
				if y := er2.child("observation"); y != nil && y.child("code").attr("code") == "SEV" {
					a.Severity = r.coding(y.child("value"))
				}
			}
		case x.child("code").attr("code") == "SEV":
			a.Severity = r.coding(x.child("value"))
		case x.child("code").attr("code") == "82606-5":
			a.Criticality = x.child("value").attr("code")
		case x.child("code").attr("code") == "66455-7":
			a.Certainty = x.child("value").attr("code")
		}
	}
	return a, ""
}

func (r *luReader) medication(sa *node) (Medicine, string) {
	mm := sa.path("consumable", "manufacturedProduct", "manufacturedMaterial")
	code := mm.child("code")
	m := Medicine{Product: r.coding(code)}
	if m.Product.Code == snomedNoDrugTherapy {
		return m, NoKnownMedications
	}
	m.Name = r.refText(code)
	if n := mm.child("name"); m.Name == "" && n != nil && n.attr("nullFlavor") == "" {
		m.Name = strings.TrimSpace(n.allText())
	}
	for _, et := range sa.children("effectiveTime") {
		switch et.xsiType() {
		case "PIVL_TS":
			p := et.child("period")
			fmt.Sscan(p.attr("value"), &m.PeriodValue)
			m.PeriodUnit = p.attr("unit")
		default:
			m.Start, m.End = r.interval(et)
		}
	}
	if m.Start == "" {
		m.Start = r.narrativeDate(sa)
	}
	if dq := sa.child("doseQuantity"); dq != nil {
		fmt.Sscan(dq.attr("value"), &m.DoseValue)
		m.DoseUnit = dq.attr("unit")
	}
	m.Route = r.coding(sa.child("routeCode"))
	for _, er := range sa.children("entryRelationship") {
		if o := er.child("observation"); o != nil && er.attr("typeCode") == "RSON" {
			m.Reason = r.coding(o.child("value"))
		}
	}
	return m, ""
}

func (r *luReader) problem(act, o *node) Problem {
	p := Problem{Code: r.coding(o.child("value")), Status: "active"}
	p.Onset, p.End = r.interval(o.child("effectiveTime"))
	if p.Onset == "" {
		p.Onset = r.narrativeDate(o)
	}
	if p.End != "" || act.child("statusCode").attr("code") == "completed" {
		p.Status = "resolved"
	}
	p.Text = r.refText(o.child("value"))
	if p.Text == "" {
		p.Text = r.refText(o)
	}
	return p
}

func (r *luReader) observation(o *node) Observation {
	ob := Observation{Code: r.coding(o.child("code")), Interp: o.child("interpretationCode").attr("code")}
	et := o.child("effectiveTime")
	if et.attr("value") != "" {
		ob.Date = hl7Date(et.attr("value"))
	} else {
		ob.Date, ob.End = r.interval(et)
	}
	v := o.child("value")
	switch v.xsiType() {
	case "PQ":
		fmt.Sscan(v.attr("value"), &ob.Value)
		ob.Unit = v.attr("unit")
		ob.IsQuantity = true
	case "CD", "CE", "CV", "CO":
		ob.Coded = r.coding(v)
	default:
		ob.String = strings.TrimSpace(v.allText())
	}
	return ob
}

// narrativeObservations reads a narrative-only section table (first
// column label, second value, third date dd/MM/yyyy) as uncoded observations.
func (r *luReader) narrativeObservations(sec *node) []Observation {
	var out []Observation
	for _, row := range rows(sec.child("text")) {
		if len(row) < 2 {
			continue
		}
		o := Observation{Code: Coding{Display: row[0]}, Text: row[0], String: row[1]}
		if len(row) > 2 {
			o.Date = frDate(row[2])
		}
		out = append(out, o)
	}
	return out
}

func (r *luReader) textItems(sec *node) []TextItem {
	var out []TextItem
	for _, row := range rows(sec.child("text")) {
		if len(row) == 0 || row[0] == "" {
			continue
		}
		it := TextItem{Text: row[0]}
		if len(row) > 1 {
			it.Date = frDate(row[1])
		}
		out = append(out, it)
	}
	if len(out) == 0 {
		for _, p := range sec.child("text").children("paragraph") {
			if t := p.allText(); t != "" {
				out = append(out, TextItem{Text: t})
			}
		}
	}
	return out
}

// rows returns the cell texts of the body rows of the tables under text.
func rows(text *node) [][]string {
	var out [][]string
	for _, tb := range text.children("table") {
		for _, body := range tb.children("tbody") {
			for _, tr := range body.children("tr") {
				var row []string
				for _, td := range tr.children("td") {
					row = append(row, td.allText())
				}
				out = append(out, row)
			}
		}
	}
	return out
}

func (r *luReader) patient(pr *node) cda.Patient {
	var p cda.Patient
	// The matricule first: it is the identifier MyHealth@EU partners search by.
	for _, id := range pr.children("id") {
		if id.attr("root") == "1.3.182.4.4" && id.attr("extension") != "" {
			p.IDs = append(p.IDs, cda.II{Root: id.attr("root"), Extension: id.attr("extension")})
		}
	}
	pt := pr.child("patient")
	p.Name = r.name(pt.child("name"))
	switch pt.child("administrativeGenderCode").attr("code") {
	case "F":
		p.Gender = "female"
	case "M":
		p.Gender = "male"
	case "UN":
		p.Gender = "other"
	default:
		p.Gender = "unknown"
	}
	p.Birth = hl7Date(pt.child("birthTime").attr("value"))
	p.Addr = r.addr(pr.child("addr"))
	p.Telecoms = r.telecoms(pr)
	if lc := pt.path("languageCommunication", "languageCode"); lc != nil {
		p.Language = lc.attr("code")
	}
	return p
}

func (r *luReader) author(au *node) cda.Author {
	var a cda.Author
	if t, ok := cda.ParseTS(au.child("time").attr("value")); ok {
		a.Time = t
	}
	a.Function = r.coding(au.child("functionCode"))
	aa := au.child("assignedAuthor")
	for _, id := range aa.children("id") {
		if id.attr("root") != "" {
			a.IDs = append(a.IDs, cda.II{Root: id.attr("root"), Extension: id.attr("extension")})
		}
	}
	a.Name = r.name(aa.path("assignedPerson", "name"))
	a.Addr = r.addr(aa.child("addr"))
	a.Telecoms = r.telecoms(aa)
	if org := aa.child("representedOrganization"); org != nil {
		a.Organization = r.org(org)
	}
	return a
}

func (r *luReader) org(o *node) cda.Organization {
	var org cda.Organization
	for _, id := range o.children("id") {
		if id.attr("root") != "" {
			org.IDs = append(org.IDs, cda.II{Root: id.attr("root"), Extension: id.attr("extension")})
		}
	}
	org.Name = strings.TrimSpace(o.child("name").allText())
	org.Telecoms = r.telecoms(o)
	org.Addr = r.addr(o.child("addr"))
	return org
}

func (r *luReader) name(n *node) cda.Name {
	var out cda.Name
	for _, g := range n.children("given") {
		out.Given = append(out.Given, strings.TrimSpace(g.allText()))
	}
	for _, p := range n.children("prefix") {
		out.Prefix = append(out.Prefix, strings.TrimSpace(p.allText()))
	}
	out.Family = strings.TrimSpace(n.child("family").allText())
	return out
}

func (r *luReader) addr(a *node) cda.Address {
	if a == nil {
		return cda.Address{}
	}
	var out cda.Address
	for _, l := range a.children("streetAddressLine") {
		out.Lines = append(out.Lines, strings.TrimSpace(l.allText()))
	}
	out.City = strings.TrimSpace(a.child("city").allText())
	out.PostalCode = strings.TrimSpace(a.child("postalCode").allText())
	out.Country = countryISO2(strings.TrimSpace(a.child("country").allText()))
	return out
}

// countryISO2 turns the ISO 3166 alpha-3 codes national documents use into alpha-2.
func countryISO2(c string) string {
	switch strings.ToUpper(c) {
	case "LUX":
		return "LU"
	case "FRA":
		return "FR"
	case "BEL":
		return "BE"
	case "DEU":
		return "DE"
	case "PRT":
		return "PT"
	case "NLD":
		return "NL"
	}
	return c
}

func (r *luReader) telecoms(n *node) []cda.Telecom {
	var out []cda.Telecom
	for _, t := range n.children("telecom") {
		if v := t.attr("value"); v != "" {
			out = append(out, cda.Telecom{Use: t.attr("use"), Value: v})
		}
	}
	return out
}

// coding reads a CD/CE; the display falls back to the referenced narrative.
func (r *luReader) coding(c *node) Coding {
	if c == nil || c.attr("code") == "" {
		return Coding{}
	}
	out := Coding{Code: c.attr("code"), System: c.attr("codeSystem"), SystemName: c.attr("codeSystemName"), Display: c.attr("displayName")}
	if out.Display == "" {
		out.Display = r.refText(c)
	}
	return out
}

// refText resolves originalText/reference (or text/reference) to the narrative.
func (r *luReader) refText(n *node) string {
	if n == nil {
		return ""
	}
	ref := n.path("originalText", "reference")
	if ref == nil {
		ref = n.path("text", "reference")
	}
	if ref == nil {
		if ot := n.child("originalText"); ot != nil {
			return ot.allText()
		}
		return ""
	}
	if a, ok := r.anchors[strings.TrimPrefix(ref.attr("value"), "#")]; ok {
		return a.allText()
	}
	return ""
}

// narrativeDate finds a dd/MM/yyyy date in the narrative row an entry references.
func (r *luReader) narrativeDate(entry *node) string {
	ref := entry.path("text", "reference")
	if ref == nil {
		return ""
	}
	row, ok := r.anchors[strings.TrimPrefix(ref.attr("value"), "#")]
	if !ok {
		return ""
	}
	for _, td := range row.children("td") {
		if d := frDate(td.allText()); d != "" {
			return d
		}
	}
	return ""
}

// date reads an effectiveTime (value or low), else the narrative date.
func (r *luReader) date(et *node, entry *node) string {
	if v := hl7Date(et.attr("value")); v != "" {
		return v
	}
	if lo, _ := r.interval(et); lo != "" {
		return lo
	}
	return r.narrativeDate(entry)
}

func (r *luReader) interval(et *node) (low, high string) {
	return hl7Date(et.child("low").attr("value")), hl7Date(et.child("high").attr("value"))
}

// hl7Date turns an HL7 TS into a FHIR-style date of the same precision (day at most).
func hl7Date(ts string) string {
	if i := strings.IndexAny(ts, "+-."); i > 0 {
		ts = ts[:i]
	}
	for _, c := range ts {
		if c < '0' || c > '9' {
			return ""
		}
	}
	switch {
	case len(ts) >= 8:
		return ts[:4] + "-" + ts[4:6] + "-" + ts[6:8]
	case len(ts) == 6:
		return ts[:4] + "-" + ts[4:6]
	case len(ts) == 4:
		return ts
	}
	return ""
}

// frDate parses a narrative date dd/MM/yyyy (or MM/yyyy, yyyy) into ISO form.
func frDate(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []struct{ in, out string }{{"02/01/2006", "2006-01-02"}, {"01/2006", "2006-01"}} {
		if t, err := time.Parse(layout.in, s); err == nil {
			return t.Format(layout.out)
		}
	}
	return ""
}
