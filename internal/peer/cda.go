package peer

import (
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Template ids and namespaces of the eHDSI pivot documents (2024 release).
const (
	nsHL7          = "urn:hl7-org:v3"
	nsPharm        = "urn:hl7-org:pharm"
	tplPS          = "1.3.6.1.4.1.12559.11.10.1.3.1.1.3"
	tplEP          = "1.3.6.1.4.1.12559.11.10.1.3.1.1.1"
	tplAllergies   = "1.3.6.1.4.1.12559.11.10.1.3.1.2.12"
	tplMedSummary  = "1.3.6.1.4.1.12559.11.10.1.3.1.2.3"
	tplProblems    = "1.3.6.1.4.1.12559.11.10.1.3.1.2.9"
	tplSurgeries   = "1.3.6.1.4.1.12559.11.10.1.3.1.2.11"
	tplPrescSect   = "1.3.6.1.4.1.12559.11.10.1.3.1.2.1"
	tplSubstAdmin  = "1.3.6.1.4.1.12559.11.10.1.3.1.3.2"
	tplManufProd   = "1.3.6.1.4.1.12559.11.10.1.3.1.3.1"
	tplProblemConc = "1.3.6.1.4.1.12559.11.10.1.3.1.3.7"
	tplProblemObs  = "1.3.6.1.4.1.12559.11.10.1.3.1.3.6"
	tplAllergyConc = "1.3.6.1.4.1.12559.11.10.1.3.1.3.16"
	tplAllergyObs  = "1.3.6.1.4.1.12559.11.10.1.3.1.3.17"
	tplProcedure   = "1.3.6.1.4.1.12559.11.10.1.3.1.3.26"
)

func add(p *etree.Element, tag string, attrs ...string) *etree.Element {
	e := p.CreateElement(tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

func coded(p *etree.Element, tag string, c Code) *etree.Element {
	e := add(p, tag, "code", c.Code, "codeSystem", c.System)
	if c.SystemName != "" {
		e.CreateAttr("codeSystemName", c.SystemName)
	}
	if c.Display != "" {
		e.CreateAttr("displayName", c.Display)
	}
	return e
}

func hl7Date(d string) string { return strings.ReplaceAll(d, "-", "") }

func ts(t time.Time) string { return t.UTC().Format("20060102150405") + "+0000" }

// docID returns the unique id (OID) of patient i's Patient Summary (k <
// 0) or of the ePrescription of item k.
func docID(c Country, i, k int) string {
	return fmt.Sprintf("%s.9.%d.%d", c.HomeCommunityID, i+1, k+2)
}

func addrOf(p *etree.Element, street, city, postal, country string) {
	a := add(p, "addr")
	if street != "" {
		add(a, "streetAddressLine").SetText(street)
	}
	add(a, "city").SetText(city)
	if postal != "" {
		add(a, "postalCode").SetText(postal)
	}
	add(a, "country").SetText(country)
}

func header(c Country, p Patient, root *etree.Element, tpl, id string, code Code, title string, created time.Time) {
	root.CreateAttr("xmlns", nsHL7)
	root.CreateAttr("xmlns:pharm", nsPharm)
	root.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	root.CreateAttr("classCode", "DOCCLIN")
	root.CreateAttr("moodCode", "EVN")
	add(root, "typeId", "root", "2.16.840.1.113883.1.3", "extension", "POCD_HD000040")
	add(root, "templateId", "root", tpl)
	add(root, "id", "root", id)
	coded(root, "code", code)
	add(root, "title").SetText(title)
	add(root, "effectiveTime", "value", ts(created))
	add(root, "confidentialityCode", "code", "N", "codeSystem", "2.16.840.1.113883.5.25", "codeSystemName", "HL7 Confidentiality", "displayName", "normal")
	add(root, "languageCode", "code", c.Language)
	add(root, "setId", "root", id)
	add(root, "versionNumber", "value", "1")

	pr := add(add(root, "recordTarget", "typeCode", "RCT", "contextControlCode", "OP"), "patientRole", "classCode", "PAT")
	add(pr, "id", "root", c.PatientRoot, "extension", p.ID, "assigningAuthorityName", c.PatientIDName)
	addrOf(pr, p.Street, p.City, p.PostalCode, c.Code)
	add(pr, "telecom", "use", "HP", "value", "tel:+00-0000-0002")
	pat := add(pr, "patient", "classCode", "PSN", "determinerCode", "INSTANCE")
	name := add(pat, "name")
	add(name, "given").SetText(p.Given)
	add(name, "family").SetText(p.Family)
	g := map[string][2]string{"male": {"M", "Male"}, "female": {"F", "Female"}}[p.Gender]
	add(pat, "administrativeGenderCode", "code", g[0], "codeSystem", "2.16.840.1.113883.5.1", "codeSystemName", "HL7 AdministrativeGender", "displayName", g[1])
	add(pat, "birthTime", "value", hl7Date(p.BirthDate))

	author := add(root, "author", "typeCode", "AUT", "contextControlCode", "OP")
	coded(author, "functionCode", Code{"221", "2.16.840.1.113883.2.9.6.2.7", "ISCO-08", "Medical doctors"})
	add(author, "time", "value", ts(created))
	assignedAuthor(c, add(author, "assignedAuthor", "classCode", "ASSIGNED"))

	cust := add(add(add(root, "custodian", "typeCode", "CST"), "assignedCustodian", "classCode", "ASSIGNED"), "representedCustodianOrganization", "classCode", "ORG", "determinerCode", "INSTANCE")
	add(cust, "id", "root", c.HomeCommunityID)
	add(cust, "name").SetText("National Contact Point for eHealth " + c.Name + " (simulated)")
	add(cust, "telecom", "use", "WP", "value", "mailto:ncpeh@"+strings.ToLower(c.Code)+".invalid")
	addrOf(cust, "", c.City, "", c.Code)

	la := add(root, "legalAuthenticator", "contextControlCode", "OP", "typeCode", "LA")
	add(la, "time", "value", ts(created))
	add(la, "signatureCode", "code", "S")
	assignedAuthor(c, add(la, "assignedEntity", "classCode", "ASSIGNED"))
}

// psContext adds what a Patient Summary header has beyond the common one.
func psContext(c Country, root *etree.Element, created time.Time) {
	part := add(root, "participant", "typeCode", "IND")
	add(part, "templateId", "root", "1.3.6.1.4.1.19376.1.5.3.1.2.4")
	ae := add(part, "associatedEntity", "classCode", "PRS")
	addrOf(ae, "", c.City, "", c.Code)
	add(ae, "telecom", "use", "WP", "value", "tel:+00-0000-0000")
	n := add(add(ae, "associatedPerson"), "name")
	add(n, "given").SetText(c.Doctor[0])
	add(n, "family").SetText(c.Doctor[1])
	se := add(add(root, "documentationOf", "typeCode", "DOC"), "serviceEvent", "classCode", "PCPR", "moodCode", "EVN")
	et := add(se, "effectiveTime")
	add(et, "low", "nullFlavor", "UNK")
	add(et, "high", "value", ts(created))
}

func relatedDocument(root *etree.Element, c Country, nationalID string) {
	pd := add(add(root, "relatedDocument", "typeCode", "XFRM"), "parentDocument", "classCode", "DOCCLIN", "moodCode", "EVN")
	add(pd, "id", "root", c.HomeCommunityID+".10", "extension", nationalID)
}

func assignedAuthor(c Country, aa *etree.Element) {
	add(aa, "id", "root", c.HomeCommunityID+".3", "extension", strings.ToLower(c.Code)+"-hcp-4711")
	addrOf(aa, "", c.City, "", c.Code)
	add(aa, "telecom", "use", "WP", "value", "tel:+00-0000-0000")
	n := add(add(aa, "assignedPerson", "classCode", "PSN", "determinerCode", "INSTANCE"), "name")
	add(n, "prefix").SetText("Dr")
	add(n, "given").SetText(c.Doctor[0])
	add(n, "family").SetText(c.Doctor[1])
	org := add(aa, "representedOrganization", "classCode", "ORG", "determinerCode", "INSTANCE")
	add(org, "id", "root", c.HomeCommunityID+".4", "extension", "org-1")
	add(org, "name").SetText(c.Organisation)
	add(org, "telecom", "use", "WP", "value", "tel:+00-0000-0001")
	addrOf(org, "", c.City, "", c.Code)
}

func section(body *etree.Element, code Code, title string, tpls ...string) (*etree.Element, *etree.Element) {
	s := add(add(body, "component", "typeCode", "COMP", "contextConductionInd", "true"), "section", "classCode", "DOCSECT", "moodCode", "EVN")
	for _, t := range tpls {
		add(s, "templateId", "root", t)
	}
	coded(s, "code", code)
	add(s, "title").SetText(title)
	return s, add(s, "text")
}

func table(text *etree.Element, heads []string, rows [][]string, refPrefix string) {
	t := add(text, "table", "border", "1")
	tr := add(add(t, "thead"), "tr")
	for _, h := range heads {
		add(tr, "th").SetText(h)
	}
	tb := add(t, "tbody")
	for i, r := range rows {
		row := add(tb, "tr", "ID", fmt.Sprintf("%s-%d", refPrefix, i+1))
		for _, v := range r {
			add(row, "td").SetText(v)
		}
	}
}

func dosage(m Medication) string {
	return fmt.Sprintf("%s × %s %s / %d h — %s", m.Dose, m.Strength, m.StrengthU, m.PeriodHours, m.Instruction)
}

func ingredient(mm *etree.Element, m Medication, withName bool) {
	ing := add(mm, "pharm:ingredient", "classCode", "ACTI")
	q := add(ing, "pharm:quantity")
	add(q, "numerator", "xsi:type", "PQ", "value", m.Strength, "unit", m.StrengthU)
	add(q, "denominator", "xsi:type", "PQ", "value", "1", "unit", "1")
	sub := add(ing, "pharm:ingredientSubstance", "classCode", "MMAT", "determinerCode", "KIND")
	coded(sub, "pharm:code", m.Ingredient)
	if withName {
		add(sub, "pharm:name").SetText(m.Ingredient.Display)
	}
}

func period(sa *etree.Element, m Medication) {
	ivl := add(sa, "effectiveTime", "xsi:type", "IVL_TS")
	add(ivl, "low", "value", "20260101")
	add(ivl, "high", "value", "20261231")
	pivl := add(sa, "effectiveTime", "xsi:type", "PIVL_TS", "institutionSpecified", "true", "operator", "A")
	add(pivl, "period", "value", fmt.Sprint(m.PeriodHours), "unit", "h")
	coded(sa, "routeCode", m.Route)
}

// medSummary writes a Patient Summary medication statement.
func medSummary(s *etree.Element, c Country, m Medication, ref string) {
	sa := add(add(s, "entry"), "substanceAdministration", "classCode", "SBADM", "moodCode", "INT")
	add(sa, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.4")
	add(sa, "templateId", "root", "2.16.840.1.113883.10.20.1.24")
	add(sa, "id", "root", c.HomeCommunityID+".5", "extension", "med-"+m.ID)
	add(add(sa, "text"), "reference", "value", "#"+ref)
	add(sa, "statusCode", "code", "active")
	period(sa, m)
	add(sa, "doseQuantity", "value", m.Dose, "unit", "1")
	mp := add(add(sa, "consumable"), "manufacturedProduct", "classCode", "MANU")
	add(mp, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.31")
	mm := add(mp, "manufacturedMaterial", "classCode", "MMAT", "determinerCode", "KIND")
	add(mm, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.32")
	add(mm, "name").SetText(m.Brand)
	coded(mm, "pharm:formCode", m.Form)
	ingredient(mm, m, false)
}

// prescriptionItem writes an ePrescription item.
func prescriptionItem(s *etree.Element, c Country, m Medication, ref, pinstruct string) {
	sa := add(add(s, "entry", "typeCode", "COMP"), "substanceAdministration", "classCode", "SBADM", "moodCode", "INT")
	for _, t := range []string{"2.16.840.1.113883.10.20.1.24", "1.3.6.1.4.1.19376.1.5.3.1.4.7", tplSubstAdmin, "1.3.6.1.4.1.19376.1.5.3.1.4.7.1"} {
		add(sa, "templateId", "root", t)
	}
	add(sa, "id", "root", c.HomeCommunityID+".5", "extension", m.ID)
	add(sa, "code", "code", "DRUG", "codeSystem", "2.16.840.1.113883.5.4", "displayName", "Drug therapy")
	add(add(sa, "text"), "reference", "value", "#"+ref)
	add(sa, "statusCode", "code", "active")
	period(sa, m)
	dq := add(sa, "doseQuantity")
	add(dq, "low", "value", m.Dose, "unit", "1")
	add(dq, "high", "value", m.Dose, "unit", "1")
	mp := add(add(sa, "consumable", "typeCode", "CSM"), "manufacturedProduct", "classCode", "MANU")
	add(mp, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.29")
	mm := add(mp, "manufacturedMaterial", "classCode", "MMAT", "determinerCode", "KIND")
	add(mm, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.30")
	add(mm, "name").SetText(m.Brand)
	add(mm, "pharm:desc").SetText(m.Ingredient.Display + " " + m.Strength + " " + m.StrengthU)
	coded(mm, "pharm:formCode", m.Form)
	cont := add(mm, "pharm:asContent", "classCode", "CONT")
	add(cont, "pharm:quantity", "value", m.PackSize, "unit", "1")
	cpp := add(cont, "pharm:containerPackagedProduct", "classCode", "CONT", "determinerCode", "KIND")
	add(cpp, "pharm:name").SetText(m.Brand)
	coded(cpp, "pharm:formCode", Code{"30007000", sysEDQM, "EDQM Standard Terms", "Blister"})
	gk := add(add(mm, "pharm:asSpecializedKind", "classCode", "GRIC"), "pharm:generalizedMaterialKind", "classCode", "MMAT", "determinerCode", "KIND")
	coded(gk, "pharm:code", m.Ingredient)
	ingredient(mm, m, true)
	sup := add(add(sa, "entryRelationship", "typeCode", "COMP"), "supply", "classCode", "SPLY", "moodCode", "RQO")
	add(sup, "independentInd", "value", "false")
	add(sup, "quantity", "value", fmt.Sprint(m.Packages), "unit", "1")
	subst, sd := "N", "none"
	if m.Substitute {
		subst, sd = "G", "generic"
	}
	obs := add(add(sa, "entryRelationship", "typeCode", "SUBJ", "inversionInd", "true"), "observation", "classCode", "OBS", "moodCode", "EVN")
	add(obs, "code", "code", "SUBST", "codeSystem", "2.16.840.1.113883.5.6", "displayName", "Substitution")
	add(obs, "value", "xsi:type", "CE", "code", subst, "codeSystem", "2.16.840.1.113883.5.1070", "codeSystemName", "HL7 SubstanceAdminSubstitution", "displayName", sd)
	pi := add(add(sa, "entryRelationship", "typeCode", "SUBJ", "inversionInd", "true"), "act", "classCode", "ACT", "moodCode", "INT")
	add(pi, "templateId", "root", "2.16.840.1.113883.10.20.1.49")
	add(pi, "templateId", "root", "1.3.6.1.4.1.19376.1.5.3.1.4.3")
	add(pi, "code", "code", "PINSTRUCT", "codeSystem", "1.3.6.1.4.1.19376.1.5.3.2", "codeSystemName", "IHEActCode", "displayName", "PINSTRUCT")
	add(add(pi, "text"), "reference", "value", "#"+pinstruct)
	add(pi, "statusCode", "code", "completed")
}

func serialize(root *etree.Element) []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(root)
	doc.Indent(1)
	b, _ := doc.WriteToBytes()
	return b
}

// BuildPS returns the eHDSI Patient Summary (L3) of patient i of c.
func BuildPS(c Country, i int, created time.Time) []byte {
	p := c.Patients[i]
	root := etree.NewElement("ClinicalDocument")
	header(c, p, root, tplPS, docID(c, i, -1), Code{"60591-5", sysLOINC, "LOINC", "Patient summary Document"}, c.Labels.PSTitle, created)
	psContext(c, root, created)
	relatedDocument(root, c, "ps-"+p.ID)
	body := add(add(root, "component", "typeCode", "COMP", "contextConductionInd", "true"), "structuredBody", "classCode", "DOCBODY", "moodCode", "EVN")
	L := c.Labels
	hid := c.HomeCommunityID

	// Allergies.
	s, text := section(body, Code{"48765-2", sysLOINC, "", "Allergies and adverse reactions Document"}, L.Allergies, tplAllergies)
	var rows [][]string
	for _, a := range p.Allergies {
		rows = append(rows, []string{a.Agent.Display, a.Reaction.Display})
	}
	if len(p.Allergies) == 0 {
		add(text, "paragraph", "ID", "al-none").SetText("—")
	} else {
		table(text, []string{L.Substance, L.Reaction}, rows, "al")
	}
	allergy := func(k int, ref string, fill func(obs *etree.Element)) {
		act := add(add(s, "entry"), "act", "classCode", "ACT", "moodCode", "EVN")
		add(act, "templateId", "root", tplAllergyConc)
		add(act, "id", "root", hid+".6", "extension", fmt.Sprintf("al-%d", k))
		add(act, "code", "code", "CONC", "codeSystem", "2.16.840.1.113883.5.6", "displayName", "Concern")
		add(act, "statusCode", "code", "active")
		add(add(act, "effectiveTime"), "low", "nullFlavor", "UNK")
		obs := add(add(act, "entryRelationship", "typeCode", "SUBJ", "inversionInd", "false"), "observation", "classCode", "OBS", "moodCode", "EVN")
		add(obs, "templateId", "root", tplAllergyObs)
		add(obs, "id", "root", hid+".6", "extension", fmt.Sprintf("al-%d.1", k))
		add(obs, "code", "code", "609328004", "codeSystem", sysSCT, "displayName", "Allergic disposition")
		add(add(obs, "text"), "reference", "value", "#"+ref)
		add(obs, "statusCode", "code", "completed")
		add(add(obs, "effectiveTime"), "low", "nullFlavor", "UNK")
		fill(obs)
	}
	if len(p.Allergies) == 0 {
		allergy(0, "al-none", func(obs *etree.Element) {
			add(obs, "value", "xsi:type", "CD", "code", "no-known-allergies", "codeSystem", "2.16.840.1.113883.5.1150.1", "displayName", "No known allergies")
		})
	}
	for k, a := range p.Allergies {
		ref := fmt.Sprintf("al-%d", k+1)
		allergy(k+1, ref, func(obs *etree.Element) {
			pe := add(add(add(obs, "participant", "typeCode", "CSM"), "participantRole", "classCode", "MANU"), "playingEntity", "classCode", "MMAT")
			coded(pe, "code", a.Agent)
			mf := add(add(obs, "entryRelationship", "typeCode", "MFST", "inversionInd", "true"), "observation", "classCode", "OBS", "moodCode", "EVN")
			add(mf, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.44")
			add(mf, "id", "root", hid+".6", "extension", fmt.Sprintf("al-%d.2", k+1))
			add(mf, "code", "code", "418799008", "codeSystem", sysSCT, "displayName", "Finding reported by subject or history provider")
			add(add(mf, "text"), "reference", "value", "#"+ref)
			add(mf, "statusCode", "code", "completed")
			add(add(mf, "effectiveTime"), "low", "nullFlavor", "UNK")
			coded(mf, "value", a.Reaction).CreateAttr("xsi:type", "CD")
		})
	}

	// Medication summary.
	s, text = section(body, Code{"10160-0", sysLOINC, "", "History of Medication use Narrative"}, L.Medications, tplMedSummary, "2.16.840.1.113883.10.20.1.8")
	rows = nil
	for _, m := range p.Medications {
		rows = append(rows, []string{m.Brand + " (" + m.Ingredient.Display + ")", dosage(m)})
	}
	if len(rows) == 0 {
		add(text, "paragraph", "ID", "med-none").SetText("—")
		sa := add(add(s, "entry"), "substanceAdministration", "classCode", "SBADM", "moodCode", "INT")
		add(sa, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.4")
		add(sa, "templateId", "root", "2.16.840.1.113883.10.20.1.24")
		add(sa, "id", "root", hid+".5", "extension", "med-none")
		add(sa, "code", "code", "no-known-medications", "codeSystem", "2.16.840.1.113883.5.1150.1", "displayName", "No known medications")
		add(add(sa, "text"), "reference", "value", "#med-none")
		add(sa, "statusCode", "code", "completed")
		add(sa, "effectiveTime", "xsi:type", "IVL_TS", "nullFlavor", "UNK")
		add(sa, "effectiveTime", "nullFlavor", "NA")
		mp := add(add(sa, "consumable"), "manufacturedProduct", "classCode", "MANU")
		add(mp, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.31")
		mm := add(mp, "manufacturedMaterial", "classCode", "MMAT", "determinerCode", "KIND", "nullFlavor", "NA")
		add(mm, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.32")
	} else {
		table(text, []string{L.Product, L.Dose}, rows, "med")
	}
	for k, m := range p.Medications {
		medSummary(s, c, m, fmt.Sprintf("med-%d", k+1))
	}

	// Active problems.
	s, text = section(body, Code{"11450-4", sysLOINC, "", "Problem list - Reported"}, L.Problems, tplProblems, "2.16.840.1.113883.10.20.1.11")
	rows = nil
	for _, pr := range p.Problems {
		rows = append(rows, []string{pr.Display + " (" + pr.Code + ")"})
	}
	problem := func(k int, ref string, value func(obs *etree.Element)) {
		act := add(add(s, "entry"), "act", "classCode", "ACT", "moodCode", "EVN")
		add(act, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.15")
		add(act, "templateId", "root", "2.16.840.1.113883.10.20.1.27")
		add(act, "id", "root", hid+".7", "extension", fmt.Sprintf("pb-%d", k))
		add(act, "code", "code", "CONC", "codeSystem", "2.16.840.1.113883.5.6", "displayName", "Concern")
		add(add(act, "text"), "reference", "value", "#"+ref)
		add(act, "statusCode", "code", "active")
		add(add(act, "effectiveTime"), "low", "nullFlavor", "UNK")
		obs := add(add(act, "entryRelationship", "typeCode", "SUBJ", "inversionInd", "false"), "observation", "classCode", "OBS", "moodCode", "EVN")
		add(obs, "templateId", "root", tplProblemConc)
		add(obs, "id", "root", hid+".7", "extension", fmt.Sprintf("pb-%d.1", k))
		add(obs, "code", "code", "55607006", "codeSystem", sysSCT, "displayName", "Problem")
		add(add(obs, "text"), "reference", "value", "#"+ref)
		add(obs, "statusCode", "code", "completed")
		add(add(obs, "effectiveTime"), "low", "nullFlavor", "UNK")
		value(obs)
	}
	if len(rows) == 0 {
		add(text, "paragraph", "ID", "pb-none").SetText("—")
		problem(0, "pb-none", func(obs *etree.Element) {
			add(obs, "value", "xsi:type", "CD", "code", "no-known-problems", "codeSystem", "2.16.840.1.113883.5.1150.1", "displayName", "No known problems")
		})
	} else {
		table(text, []string{L.Problem}, rows, "pb")
	}
	for k, pr := range p.Problems {
		problem(k+1, fmt.Sprintf("pb-%d", k+1), func(obs *etree.Element) {
			coded(obs, "value", pr).CreateAttr("xsi:type", "CD")
		})
	}

	// Surgical procedures.
	s, text = section(body, Code{"47519-4", sysLOINC, "", "History of Procedures Document"}, L.Procedures, tplSurgeries)
	rows = nil
	for _, pr := range p.Procedures {
		rows = append(rows, []string{pr.Code.Display, pr.Date[:4] + "-" + pr.Date[4:6] + "-" + pr.Date[6:]})
	}
	if len(rows) == 0 {
		add(text, "paragraph", "ID", "pr-none").SetText("—")
		proc := add(add(s, "entry"), "procedure", "classCode", "PROC", "moodCode", "EVN")
		add(proc, "templateId", "root", tplProcedure)
		add(proc, "id", "root", hid+".8", "extension", "pr-none")
		add(proc, "code", "code", "no-procedure-info", "codeSystem", "2.16.840.1.113883.5.1150.1", "displayName", "No information about past history of procedures")
		add(add(proc, "text"), "reference", "value", "#pr-none")
		add(proc, "statusCode", "code", "completed")
		add(proc, "effectiveTime", "nullFlavor", "NA")
	} else {
		table(text, []string{L.Procedure, L.Date}, rows, "pr")
	}
	for k, pr := range p.Procedures {
		proc := add(add(s, "entry"), "procedure", "classCode", "PROC", "moodCode", "EVN")
		add(proc, "templateId", "root", tplProcedure)
		add(proc, "id", "root", hid+".8", "extension", fmt.Sprintf("pr-%d", k+1))
		coded(proc, "code", pr.Code)
		add(add(proc, "text"), "reference", "value", fmt.Sprintf("#pr-%d", k+1))
		add(proc, "statusCode", "code", "completed")
		add(proc, "effectiveTime", "value", pr.Date)
	}

	// Medical devices.
	s, text = section(body, Code{"46264-8", sysLOINC, "", "History of medical device use"}, "Medical devices", "1.3.6.1.4.1.12559.11.10.1.3.1.2.4", "2.16.840.1.113883.10.20.1.7")
	add(text, "paragraph", "ID", "dv-none").SetText("—")
	sup := add(add(s, "entry"), "supply", "classCode", "SPLY", "moodCode", "EVN")
	add(sup, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.5")
	add(sup, "id", "root", hid+".9", "extension", "dv-none")
	add(add(sup, "text"), "reference", "value", "#dv-none")
	add(add(sup, "effectiveTime", "xsi:type", "IVL_TS"), "low", "nullFlavor", "UNK")
	pd := add(add(add(sup, "participant", "typeCode", "DEV"), "participantRole", "classCode", "MANU"), "playingDevice", "classCode", "DEV", "determinerCode", "INSTANCE")
	add(pd, "code", "code", "no-known-devices", "codeSystem", "2.16.840.1.113883.5.1150.1", "displayName", "No known devices in use")
	return serialize(root)
}

// BuildEP returns the eHDSI ePrescription (L3) of prescription item k of
// patient i of c: one document per prescribed product, as eHDSI requires.
func BuildEP(c Country, i, k int, created time.Time) []byte {
	p := c.Patients[i]
	m := p.Prescriptions[k]
	root := etree.NewElement("ClinicalDocument")
	id := docID(c, i, k)
	header(c, p, root, tplEP, id, Code{"57833-6", sysLOINC, "LOINC", "Prescription for medication"}, c.Labels.EPTitle+": "+m.Brand, created)
	relatedDocument(root, c, m.ID)
	body := add(add(root, "component", "typeCode", "COMP", "contextConductionInd", "true"), "structuredBody", "classCode", "DOCBODY", "moodCode", "EVN")
	L := c.Labels
	s := add(add(body, "component", "typeCode", "COMP", "contextConductionInd", "true"), "section", "classCode", "DOCSECT", "moodCode", "EVN")
	add(s, "templateId", "root", tplPrescSect)
	add(s, "id", "root", id, "extension", "1")
	coded(s, "code", Code{"57828-6", sysLOINC, "LOINC", "Prescription list"})
	add(s, "title").SetText("Prescriptions")
	text := add(s, "text")
	t := add(text, "table", "border", "1")
	hr := add(add(t, "thead"), "tr")
	for _, h := range []string{L.Product, L.Dose, L.Quantity} {
		add(hr, "th").SetText(h)
	}
	row := add(add(t, "tbody"), "tr")
	add(add(row, "td"), "content", "ID", "ep-1").SetText(m.Brand + " (" + m.Ingredient.Display + ")")
	add(add(row, "td"), "content", "ID", "pi-1").SetText(dosage(m))
	add(row, "td").SetText(fmt.Sprintf("%d × %s", m.Packages, m.PackSize))
	prescriptionItem(s, c, m, "ep-1", "pi-1")
	return serialize(root)
}
