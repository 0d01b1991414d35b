package cda

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Templates of the ePrescription body.
const (
	TemplatePrescriptionSection = "1.3.6.1.4.1.12559.11.10.1.3.1.2.1"
	TemplateSubstanceAdmin      = "1.3.6.1.4.1.12559.11.10.1.3.1.3.2"
	TemplateMedicationInfo      = "1.3.6.1.4.1.12559.11.10.1.3.1.3.29"
	TemplateManufacturedMat     = "1.3.6.1.4.1.12559.11.10.1.3.1.3.30"
)

// EPOptions are the inputs of the ePrescription transform besides the
// national Bundle. Everything that would otherwise come from a clock or a
// random generator is here.
type EPOptions struct {
	// DocumentID is the id of the pivot document (L3 or L1).
	DocumentID II
	// EffectiveTime is the document's creation time.
	EffectiveTime time.Time
	// Custodian is the Luxembourg NCP organisation.
	Custodian Organization
	// Language of the document (BCP 47); "" means fr-LU.
	Language    string
	Terminology Terminology
}

func (o EPOptions) lang() string {
	if o.Language == "" {
		return "fr-LU"
	}
	return o.Language
}

// BuildEP transforms a national prescription Bundle (FHIR R4 JSON) into the
// eHDSI ePrescription pivot CDA (level 3).
func BuildEP(bundle []byte, opts EPOptions) ([]byte, error) {
	p, err := ParsePrescription(bundle)
	if err != nil {
		return nil, err
	}
	return BuildEPFrom(p, opts)
}

// BuildEPL1 builds the PDF-embedded ePrescription (…1.1.6): the same header
// as BuildEP and a PDF of the prescription rendered with internal/pdf.
func BuildEPL1(bundle []byte, opts EPOptions) ([]byte, error) {
	p, err := ParsePrescription(bundle)
	if err != nil {
		return nil, err
	}
	return BuildEPL1From(p, opts)
}

// BuildEPL1From is BuildEPL1 on an already parsed prescription.
func BuildEPL1From(p *Prescription, opts EPOptions) ([]byte, error) {
	items := renderable(p.Items)
	if len(items) == 0 {
		return nil, &InputError{Field: "MedicationRequest.status", Err: ErrNoRenderableItem}
	}
	if len(items) > 1 {
		return nil, &InputError{Field: "MedicationRequest", Err: ErrSeveralItems}
	}
	h := epHeader(p, opts, terminology.DocEPL1, ehdsi.TemplateEPL1)
	return BuildL1(h, opts.Terminology, PrescriptionPDF(p, opts))
}

func epHeader(p *Prescription, opts EPOptions, doc terminology.DocType, template string) Header {
	title := "ePrescription"
	if len(p.Items) > 0 {
		title += ": " + p.Items[0].Product.Name
	}
	auth := p.Prescriber
	if auth.Time.IsZero() {
		auth.Time = opts.EffectiveTime
	}
	parent := p.ID
	return Header{
		Doc:                doc,
		TemplateIDs:        []string{template},
		ID:                 opts.DocumentID,
		Code:               terminology.Coding{Code: ehdsi.ClassEP, System: OIDLOINC, SystemName: "LOINC", Display: "Prescription for medication"},
		Title:              title,
		EffectiveTime:      opts.EffectiveTime,
		Language:           opts.lang(),
		Patient:            p.Patient,
		Authors:            []Author{auth},
		Custodian:          opts.Custodian,
		LegalAuthenticator: auth.Professional,
		LegalAuthTime:      auth.Time,
		ParentDocument:     &parent,
	}
}

// Renderable reports whether a pivot ePrescription may carry the item:
// active, on-hold, completed and stopped ones (statusCode active or
// completed), not cancelled, entered-in-error or draft ones.
func (it Item) Renderable() bool {
	switch it.Status {
	case "cancelled", "entered-in-error", "draft", "unknown":
		return false
	}
	return true
}

// renderable keeps the items a pivot ePrescription may carry (Renderable).
func renderable(items []Item) []Item {
	var out []Item
	for _, it := range items {
		if it.Renderable() {
			out = append(out, it)
		}
	}
	return out
}

// ErrSeveralItems is wrapped when a prescription with several items is
// given to BuildEP: an eHDSI ePrescription carries exactly one prescribed
// medicine (one section, one substanceAdministration entry), so such a
// prescription is Split first, one document per item.
var ErrSeveralItems = errors.New("several prescription items: one eHDSI ePrescription per item (use Prescription.Split)")

// Split returns one single-item prescription per item of p (same id,
// patient and prescriber), in order.
func (p *Prescription) Split() []*Prescription {
	out := make([]*Prescription, len(p.Items))
	for i := range p.Items {
		c := *p
		c.Items = p.Items[i : i+1 : i+1]
		out[i] = &c
	}
	return out
}

// BuildEPFrom is BuildEP on an already parsed prescription.
func BuildEPFrom(p *Prescription, opts EPOptions) ([]byte, error) {
	items := renderable(p.Items)
	if len(items) == 0 {
		return nil, &InputError{Field: "MedicationRequest.status", Err: ErrNoRenderableItem}
	}
	if len(items) > 1 {
		return nil, &InputError{Field: "MedicationRequest", Err: ErrSeveralItems}
	}
	term := opts.Terminology
	d, err := NewDocument(epHeader(p, opts, terminology.DocEP, ehdsi.TemplateEP), term)
	if err != nil {
		return nil, err
	}
	body := d.StructuredBody()
	secID := opts.DocumentID
	if secID.Extension != "" {
		secID.Extension += ".1"
	} else {
		secID = II{Root: opts.DocumentID.Root, Extension: "1"}
	}
	sc := transcodeOr(term, Spec{"//component/section/code", VSSection, terminology.UsageOptional},
		terminology.Coding{Code: "57828-6", System: OIDLOINC, SystemName: "LOINC", Display: "Prescriptions"})
	section, text := AppendSection(body, []string{TemplatePrescriptionSection}, secID, sc, "Prescriptions")

	// Transcode every item first, so the narrative shows what the entries carry.
	coded := make([]itemCodes, len(items))
	for i, it := range items {
		c, err := transcodeItem(term, it)
		if err != nil {
			return nil, err
		}
		coded[i] = c
	}
	epNarrative(text, items, coded)
	for i, it := range items {
		appendSubstanceAdministration(section, it, coded[i], i+1)
	}
	return d.Bytes()
}

// transcodeOr transcodes a fixed MVC code, falling back to the code itself
// when the terminology does not know it.
func transcodeOr(term Terminology, s Spec, c terminology.Coding) Coded {
	out, err := Transcode(term, s, c, "")
	if err != nil || out.Null != "" {
		return MVCOnly(c)
	}
	return out
}

type itemCodes struct {
	form, pkg, atc, route, subst Coded
	hasRoute                     bool
	ingredients                  []Coded
}

// Element paths (as in the eHDSI coded element list) for error reports.
const (
	elemSA       = "//entry/substanceAdministration[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.2']"
	elemMaterial = elemSA + "/consumable/manufacturedProduct/manufacturedMaterial"
)

func transcodeItem(term Terminology, it Item) (itemCodes, error) {
	var c itemCodes
	var err error
	pr := it.Product
	form := pr.DoseForm
	c.form, err = Transcode(term, Spec{elemMaterial + "/formCode", terminology.VSDoseForm, terminology.UsageRequired}, form, "")
	if err != nil {
		return c, err
	}
	c.pkg, err = Transcode(term, Spec{elemMaterial + "/asContent/containerPackagedProduct/formCode", terminology.VSPackage, terminology.UsageRNFA}, pr.Package, "")
	if err != nil {
		return c, err
	}
	atcSpec := Spec{elemMaterial + "/asSpecializedKind/generalizedMaterialKind/code", terminology.VSActiveIngredient, terminology.UsageRNFA}
	// The national product code goes through the terminology first (the
	// code is then kept as translation); the ATC the Bundle carries is the
	// fallback.
	c.atc, err = Transcode(term, atcSpec, pr.Code, pr.Name)
	if err == nil && c.atc.Null != "" && pr.ATC.Code != "" {
		c.atc, err = Transcode(term, atcSpec, pr.ATC, pr.Name)
	}
	if err != nil {
		return c, err
	}
	if c.atc.Null == "" {
		c.atc.Text = ""
	}
	if it.Route.Code != "" {
		c.hasRoute = true
		c.route, err = Transcode(term, Spec{elemSA + "/routeCode", terminology.VSRoute, terminology.UsageOptional}, it.Route, "")
		if err != nil {
			return c, err
		}
	}
	subst := terminology.Coding{Code: "N", System: OIDSubstitution, Display: "none"}
	if it.SubstitutionAllowed {
		subst = terminology.Coding{Code: "G", System: OIDSubstitution, Display: "generic composition"}
	}
	c.subst = transcodeOr(term, Spec{elemSA + "/entryRelationship/observation[SUBST]/value", VSSubstitution, terminology.UsageOptional}, subst)
	for _, ing := range pr.Ingredients {
		in := ing.Code
		if in.Code == "" && len(pr.Ingredients) == 1 && pr.ATC.Code != "" {
			in = pr.ATC
		}
		ic, err := Transcode(term, Spec{elemMaterial + "/ingredient[@classCode='ACTI']/ingredientSubstance/code", terminology.VSActiveIngredient, terminology.UsageOptional}, in, "")
		if err != nil {
			return c, err
		}
		if ic.Null != "" {
			ic = Coded{Null: "NI"}
		}
		c.ingredients = append(c.ingredients, ic)
	}
	return c, nil
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func display(c Coded, fallback string) string {
	if c.Null == "" && c.MVC.Display != "" {
		return c.MVC.Display
	}
	if fallback != "" {
		return fallback
	}
	return c.Text
}

// DosageText describes an item's dosage in words (English, as the pivot
// narrative is the MVC language): the free text when given, else the
// structured dose.
func (it Item) DosageText() string {
	var parts []string
	if it.Dose.Value > 0 {
		d := doseText(it.Dose)
		if it.DoseHigh.Value > 0 {
			d += " to " + doseText(it.DoseHigh)
		}
		if it.Frequency > 0 && it.Period > 0 {
			d += " " + frequencyText(it.Frequency, it.Period, it.PeriodUnit)
		}
		parts = append(parts, d)
	}
	if it.AsNeeded {
		parts = append(parts, "as needed")
	}
	if it.Dosage != "" {
		parts = append(parts, it.Dosage)
	}
	return strings.Join(parts, "; ")
}

func doseText(q Quantity) string {
	if q.Unit == "" || q.Unit == "1" {
		if q.Value == 1 {
			return "1 unit"
		}
		return num(q.Value) + " units"
	}
	return q.String()
}

var unitWords = map[string]string{"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}

// frequencyText says "3 times a day", "once a day", "every 6 hours".
func frequencyText(freq int, period float64, unit string) string {
	w := unitWords[unit]
	if w == "" {
		w = unit
	}
	if period != 1 {
		w = num(period) + " " + w + "s"
	}
	switch {
	case freq == 1 && period != 1:
		return "every " + w
	case freq == 1:
		return "once a " + w
	case freq == 2 && period == 1:
		return "twice a " + w
	case period == 1:
		return strconv.Itoa(freq) + " times a " + w
	}
	return strconv.Itoa(freq) + " times every " + w
}

// strength is "20 mg", "100 mg/5 mL" or "100 mg/mL".
func (in Ingredient) strength() string {
	t := in.Strength.String()
	if in.Per.Value != 1 || (in.Per.Unit != "1" && in.Per.Unit != "") {
		t += "/" + strings.TrimPrefix(in.Per.String(), "1 ")
	}
	return t
}

func strengthText(pr Product) string {
	var s []string
	for _, in := range pr.Ingredients {
		t := in.Name
		if in.Strength.Value > 0 {
			t += " " + in.strength()
		}
		s = append(s, t)
	}
	return strings.Join(s, " + ")
}

func period(from, until string) string {
	switch {
	case from != "" && until != "":
		return from + " to " + until
	case from != "":
		return "from " + from
	case until != "":
		return "until " + until
	}
	return ""
}

func epNarrative(text *etree.Element, items []Item, codes []itemCodes) {
	rows := make([][]Cell, len(items))
	for i, it := range items {
		n := strconv.Itoa(i + 1)
		c := codes[i]
		pr := it.Product
		prod := pr.Name
		if pr.Code.Code != "" {
			prod += " (LU " + pr.Code.Code + ")"
		}
		atc := display(c.atc, "")
		if c.atc.Null == "" {
			atc = c.atc.MVC.Code + " " + atc
		}
		pkg := num(it.Packages) + " x " + display(c.pkg, pr.Package.Display)
		if pr.PackSize.Value > 0 {
			pkg += " of " + pr.PackSize.String()
		}
		subst := "not allowed"
		if it.SubstitutionAllowed {
			subst = "allowed"
		}
		route := ""
		if c.hasRoute {
			route = display(c.route, it.Route.Display)
		}
		rows[i] = []Cell{
			{Text: prod, ID: "epitem-" + n},
			{Text: atc},
			{Text: strengthText(pr)},
			{Text: display(c.form, pr.DoseForm.Display)},
			{Text: pkg},
			{Text: it.DosageText(), ID: "dosage-" + n},
			{Text: route},
			{Text: period(it.Start, it.End)},
			{Text: period(it.ValidFrom, it.ValidUntil)},
			{Text: strconv.Itoa(it.Repeats)},
			{Text: subst},
		}
	}
	AppendTable(text, []string{"Medicinal product", "Active ingredient (ATC)", "Strength", "Dose form", "Package", "Dosage", "Route", "Treatment period", "Valid for dispensing", "Repeats allowed", "Substitution"}, rows)
	for i, it := range items {
		n := strconv.Itoa(i + 1)
		if it.PatientInstructions != "" {
			labelled(text, "Instructions to the patient ("+n+"): ", it.PatientInstructions, "pinstruct-"+n)
		}
		if it.PharmacistNote != "" {
			labelled(text, "Note to the pharmacist ("+n+"): ", it.PharmacistNote, "finstruct-"+n)
		}
	}
}

// labelled writes <paragraph>label<content ID="id">value</content></paragraph>.
func labelled(text *etree.Element, label, value, id string) {
	p := AppendParagraph(text, label, "")
	ct := p.CreateElement("content")
	ct.CreateAttr("ID", id)
	ct.SetText(value)
}

func pq(parent *etree.Element, tag string, q Quantity, xsiType bool) *etree.Element {
	el := parent.CreateElement(tag)
	if xsiType {
		el.CreateAttr("xsi:type", "PQ")
	}
	if q.Value == 0 && q.Unit == "" {
		el.CreateAttr("nullFlavor", "UNK")
		return el
	}
	u := q.Unit
	if u == "" {
		u = "1"
	}
	el.CreateAttr("value", num(q.Value))
	el.CreateAttr("unit", u)
	return el
}

// pivlPeriod turns "frequency times per period unit" into one period, in the
// largest unit that keeps it whole (3 per 1 d → 8 h).
func pivlPeriod(freq int, per float64, unit string) (float64, string) {
	if freq <= 1 {
		return per, unit
	}
	v := per / float64(freq)
	if v == math.Trunc(v) {
		return v, unit
	}
	hours := map[string]float64{"d": 24, "wk": 168, "h": 1}
	if h, ok := hours[unit]; ok {
		hv := per * h / float64(freq)
		if hv == math.Trunc(hv) {
			return hv, "h"
		}
		return math.Round(hv * 60), "min"
	}
	return v, unit
}

func appendSubstanceAdministration(section *etree.Element, it Item, c itemCodes, n int) {
	ns := strconv.Itoa(n)
	entry := section.CreateElement("entry")
	entry.CreateAttr("typeCode", "COMP")
	sa := entry.CreateElement("substanceAdministration")
	sa.CreateAttr("classCode", "SBADM")
	sa.CreateAttr("moodCode", "INT")
	for _, t := range []string{"2.16.840.1.113883.10.20.1.24", "1.3.6.1.4.1.19376.1.5.3.1.4.7", TemplateSubstanceAdmin, "1.3.6.1.4.1.19376.1.5.3.1.4.7.1"} {
		AppendTemplateID(sa, t)
	}
	AppendII(sa, "id", it.ID)
	AppendCoded(sa, "code", MVCOnly(terminology.Coding{Code: "DRUG", System: OIDActCode, Display: "Drug therapy"}))
	AppendTextReference(sa, "epitem-"+ns)
	status := "active"
	if it.Status == "completed" || it.Status == "stopped" {
		status = "completed"
	}
	sa.CreateElement("statusCode").CreateAttr("code", status)
	start := it.Start
	if start == "" {
		start = it.ValidFrom
	}
	structured := it.Frequency > 0 && it.Period > 0
	if structured {
		AppendIVLTS(sa, "effectiveTime", DateTS(start), DateTS(it.End), true)
	} else {
		// Free-text dosage: no frequency to code. The rules allow a null
		// frequency only when no other effectiveTime is non-null, so the
		// period is left to the narrative as well.
		et := sa.CreateElement("effectiveTime")
		et.CreateAttr("xsi:type", "IVL_TS")
		et.CreateAttr("nullFlavor", "UNK")
	}
	if structured {
		pv, pu := pivlPeriod(it.Frequency, it.Period, it.PeriodUnit)
		et := sa.CreateElement("effectiveTime")
		et.CreateAttr("xsi:type", "PIVL_TS")
		et.CreateAttr("institutionSpecified", "true")
		et.CreateAttr("operator", "A")
		p := et.CreateElement("period")
		p.CreateAttr("value", num(pv))
		p.CreateAttr("unit", pu)
	} else {
		// free-text dosage: the frequency is unknown (the text says it)
		AppendNull(sa, "effectiveTime", "UNK")
	}
	if c.hasRoute {
		AppendCoded(sa, "routeCode", c.route)
	}
	if it.Dose.Value > 0 {
		dq := sa.CreateElement("doseQuantity")
		high := it.Dose
		if it.DoseHigh.Value > 0 {
			high = it.DoseHigh
		}
		pq(dq, "low", it.Dose, false)
		pq(dq, "high", high, false)
	}
	appendConsumable(sa, it.Product, c)

	er := sa.CreateElement("entryRelationship")
	er.CreateAttr("typeCode", "COMP")
	sp := er.CreateElement("supply")
	sp.CreateAttr("classCode", "SPLY")
	sp.CreateAttr("moodCode", "RQO")
	sp.CreateElement("independentInd").CreateAttr("value", "false")
	pq(sp, "quantity", Quantity{Value: it.Packages, Unit: "1"}, false)

	er = sa.CreateElement("entryRelationship")
	er.CreateAttr("typeCode", "SUBJ")
	er.CreateAttr("inversionInd", "true")
	ob := er.CreateElement("observation")
	ob.CreateAttr("classCode", "OBS")
	ob.CreateAttr("moodCode", "EVN")
	AppendCoded(ob, "code", MVCOnly(terminology.Coding{Code: "SUBST", System: OIDActClass, Display: "Substitution"}))
	v := ob.CreateElement("value")
	v.CreateAttr("xsi:type", "CE")
	SetCoded(v, c.subst)

	if it.PharmacistNote != "" {
		appendInstruction(sa, "FINSTRUCT", "finstruct-"+ns, []string{"2.16.840.1.113883.10.20.1.43", "1.3.6.1.4.1.19376.1.5.3.1.4.3.1"})
	}
	if it.PatientInstructions != "" {
		appendInstruction(sa, "PINSTRUCT", "pinstruct-"+ns, []string{"2.16.840.1.113883.10.20.1.49", "1.3.6.1.4.1.19376.1.5.3.1.4.3"})
	}
}

func appendInstruction(sa *etree.Element, code, ref string, templates []string) {
	er := sa.CreateElement("entryRelationship")
	er.CreateAttr("typeCode", "SUBJ")
	er.CreateAttr("inversionInd", "true")
	act := er.CreateElement("act")
	act.CreateAttr("classCode", "ACT")
	act.CreateAttr("moodCode", "INT")
	for _, t := range templates {
		AppendTemplateID(act, t)
	}
	AppendCoded(act, "code", MVCOnly(terminology.Coding{Code: code, System: OIDIHEActCode, SystemName: "IHEActCode", Display: code}))
	AppendTextReference(act, ref)
	act.CreateElement("statusCode").CreateAttr("code", "completed")
}

func appendConsumable(sa *etree.Element, pr Product, c itemCodes) {
	cons := sa.CreateElement("consumable")
	cons.CreateAttr("typeCode", "CSM")
	mp := cons.CreateElement("manufacturedProduct")
	mp.CreateAttr("classCode", "MANU")
	AppendTemplateID(mp, TemplateMedicationInfo)
	mm := mp.CreateElement("manufacturedMaterial")
	mm.CreateAttr("classCode", "MMAT")
	mm.CreateAttr("determinerCode", "KIND")
	AppendTemplateID(mm, TemplateManufacturedMat)
	if pr.Code.Code != "" {
		code := pr.Code
		code.SystemName = "LU medicinal product"
		code.Display = pr.Name
		AppendCoded(mm, "code", MVCOnly(code))
	}
	mm.CreateElement("name").SetText(pr.Name)
	if s := strengthText(pr); s != "" {
		mm.CreateElement("pharm:desc").SetText(s)
	}
	AppendCoded(mm, "pharm:formCode", c.form)

	ac := mm.CreateElement("pharm:asContent")
	ac.CreateAttr("classCode", "CONT")
	size := pr.PackSize
	if size.Value == 0 {
		size = Quantity{Value: 1, Unit: "1"}
	}
	pq(ac, "pharm:quantity", size, false)
	cpp := ac.CreateElement("pharm:containerPackagedProduct")
	cpp.CreateAttr("classCode", "CONT")
	cpp.CreateAttr("determinerCode", "KIND")
	if pr.Code.Code != "" {
		code := pr.Code
		code.SystemName = "LU medicinal product"
		code.Display = pr.Name
		AppendCoded(cpp, "pharm:code", MVCOnly(code))
	}
	cpp.CreateElement("pharm:name").SetText(pr.Name)
	AppendCoded(cpp, "pharm:formCode", c.pkg)

	sk := mm.CreateElement("pharm:asSpecializedKind")
	sk.CreateAttr("classCode", "GRIC")
	gk := sk.CreateElement("pharm:generalizedMaterialKind")
	gk.CreateAttr("classCode", "MMAT")
	gk.CreateAttr("determinerCode", "KIND")
	AppendCoded(gk, "pharm:code", c.atc)

	for i, in := range pr.Ingredients {
		if in.Strength.Value <= 0 {
			// eHDSI requires a strength; an ingredient without one (e.g. a
			// homeopathic preparation) is named in the narrative only.
			continue
		}
		ing := mm.CreateElement("pharm:ingredient")
		ing.CreateAttr("classCode", "ACTI")
		q := ing.CreateElement("pharm:quantity")
		pq(q, "numerator", in.Strength, true)
		pq(q, "denominator", in.Per, true)
		sub := ing.CreateElement("pharm:ingredientSubstance")
		sub.CreateAttr("classCode", "MMAT")
		sub.CreateAttr("determinerCode", "KIND")
		AppendCoded(sub, "pharm:code", c.ingredients[i])
		sub.CreateElement("pharm:name").SetText(in.Name)
	}
}
