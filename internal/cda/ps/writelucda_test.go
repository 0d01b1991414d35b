package ps

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/cda"
)

// writeLUCDA writes s as a Luxembourg national CDA Patient Summary, the
// shape the shared care record holds (templates 1.3.182.11.9 /
// 1.3.182.11.10.x, French labels, dd/MM/yyyy narrative dates). It makes
// the national fixtures; ReadLUCDA reads them back.
func writeLUCDA(s *Summary) []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("ClinicalDocument")
	root.CreateAttr("xmlns", nsHL7)
	root.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	root.CreateAttr("classCode", "DOCCLIN")
	root.CreateAttr("moodCode", "EVN")
	root.CreateElement("realmCode").CreateAttr("code", "LU")
	tid := root.CreateElement("typeId")
	tid.CreateAttr("extension", "POCD_HD000040")
	tid.CreateAttr("root", "2.16.840.1.113883.1.3")
	templates(root, luTplHeader, luTplPS, "2.16.840.1.113883.10.20.30")
	cda.AppendII(root, "id", s.Source)
	c := root.CreateElement("code")
	c.CreateAttr("code", "60591-5")
	c.CreateAttr("codeSystem", OIDLOINC)
	root.CreateElement("title").SetText("Résumé patient")
	root.CreateElement("effectiveTime").CreateAttr("value", s.Created.Format("20060102150405-0700"))
	cc := root.CreateElement("confidentialityCode")
	cc.CreateAttr("code", "N")
	cc.CreateAttr("codeSystem", "2.16.840.1.113883.5.25")
	cc.CreateAttr("codeSystemName", "HL7:Confidentiality")
	cc.CreateAttr("displayName", "Normal")
	root.CreateElement("languageCode").CreateAttr("code", "fr-LU")
	cda.AppendII(root, "setId", cda.II{Root: s.Source.Root, Extension: s.Source.Extension})
	root.CreateElement("versionNumber").CreateAttr("value", "1")

	pr := root.CreateElement("recordTarget").CreateElement("patientRole")
	cda.AppendII(pr, "id", cda.II{Root: "1.3.182.3.1.1.10000000.2", Extension: strconv.Itoa(10000 + len(s.Patient.Name.Family)*97)})
	for _, id := range s.Patient.IDs {
		cda.AppendII(pr, "id", id)
	}
	luAddr(pr, s.Patient.Addr, "H")
	for _, t := range s.Patient.Telecoms {
		te := pr.CreateElement("telecom")
		te.CreateAttr("use", t.Use)
		te.CreateAttr("value", t.Value)
	}
	pt := pr.CreateElement("patient")
	luName(pt, s.Patient.Name, true)
	g := pt.CreateElement("administrativeGenderCode")
	gc, gd := map[string][2]string{"female": {"F", "Féminin"}, "male": {"M", "Masculin"}}[s.Patient.Gender][0], map[string][2]string{"female": {"F", "Féminin"}, "male": {"M", "Masculin"}}[s.Patient.Gender][1]
	if gc == "" {
		gc, gd = "UN", "Indéterminé"
	}
	g.CreateAttr("code", gc)
	g.CreateAttr("codeSystem", "2.16.840.1.113883.5.1")
	g.CreateAttr("codeSystemName", "HL7:AdministrativeGender")
	g.CreateAttr("displayName", gd)
	pt.CreateElement("birthTime").CreateAttr("value", strings.ReplaceAll(s.Patient.Birth, "-", ""))

	au := root.CreateElement("author")
	au.CreateElement("time").CreateAttr("value", s.Author.Time.Format("20060102150405-0700"))
	aa := au.CreateElement("assignedAuthor")
	for _, id := range s.Author.IDs {
		cda.AppendII(aa, "id", id)
	}
	luAddr(aa, s.Author.Addr, "WP")
	for _, t := range s.Author.Telecoms {
		te := aa.CreateElement("telecom")
		te.CreateAttr("use", t.Use)
		te.CreateAttr("value", t.Value)
	}
	luName(aa.CreateElement("assignedPerson"), s.Author.Name, false)
	ro := aa.CreateElement("representedOrganization")
	luOrg(ro, s.Author.Organization)
	cu := root.CreateElement("custodian").CreateElement("assignedCustodian").CreateElement("representedCustodianOrganization")
	luOrg(cu, s.Custodian)
	la := root.CreateElement("legalAuthenticator")
	la.CreateElement("time").CreateAttr("value", s.Author.Time.Format("20060102150405-0700"))
	la.CreateElement("signatureCode").CreateAttr("code", "S")
	ae := la.CreateElement("assignedEntity")
	for _, id := range s.Author.IDs {
		cda.AppendII(ae, "id", id)
	}
	luName(ae.CreateElement("assignedPerson"), s.Author.Name, false)
	if ct := s.Contact; ct != nil {
		p := root.CreateElement("participant")
		p.CreateAttr("typeCode", "IND")
		e := p.CreateElement("associatedEntity")
		e.CreateAttr("classCode", "NOK")
		if ct.Relationship.Code != "" {
			luCode(e, "code", ct.Relationship, "")
		}
		luAddr(e, ct.Addr, "H")
		for _, t := range ct.Telecoms {
			te := e.CreateElement("telecom")
			te.CreateAttr("value", t.Value)
		}
		luName(e.CreateElement("associatedPerson"), ct.Name, false)
	}
	body := root.CreateElement("component").CreateElement("structuredBody")
	w := &luWriter{body: body}
	w.medications(s)
	w.allergies(s)
	w.immunizations(s)
	w.problems(s, s.PastIllnesses, luSecPastIllness, "11348-0", "Antécédents médicaux", "history")
	w.surgeries(s)
	w.problems(s, s.Problems, luSecProblems, "11450-4", "Problèmes actifs", "active")
	w.devices(s)
	w.pregnancy(s)
	w.observations(s.VitalSigns, luSecVitalSigns, "8716-3", "Signes vitaux", "vital")
	w.observations(s.Social, luSecSocial, "29762-2", "Mode de vie", "social")
	w.observations(s.Results, luSecResults, "30954-2", "Résultats d'examens", "result")
	w.observations(s.Functional, luSecFunctional, "47420-5", "Autonomie et statut fonctionnel", "func")
	w.texts(s.CarePlan, luSecCarePlan, "18776-5", "Plan de soins", "plan")
	w.texts(s.Directives, luSecDirectives, "42348-3", "Directives anticipées", "dir")
	doc.Indent(4)
	out, err := doc.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return out
}

type luWriter struct{ body *etree.Element }

func luAddr(parent *etree.Element, a cda.Address, use string) {
	if a.IsZero() {
		return
	}
	ad := parent.CreateElement("addr")
	ad.CreateAttr("use", use)
	for _, l := range a.Lines {
		ad.CreateElement("streetAddressLine").SetText(l)
	}
	if a.PostalCode != "" {
		ad.CreateElement("postalCode").SetText(a.PostalCode)
	}
	if a.City != "" {
		ad.CreateElement("city").SetText(a.City)
	}
	if a.Country != "" {
		ad.CreateElement("country").SetText(map[string]string{"LU": "LUX", "FR": "FRA", "BE": "BEL", "DE": "DEU", "PT": "PRT"}[a.Country])
	}
}

func luName(parent *etree.Element, n cda.Name, birth bool) {
	nm := parent.CreateElement("name")
	f := nm.CreateElement("family")
	if birth {
		f.CreateAttr("qualifier", "BR")
	}
	f.SetText(n.Family)
	for _, g := range n.Given {
		gv := nm.CreateElement("given")
		if birth {
			gv.CreateAttr("qualifier", "BR")
		}
		gv.SetText(g)
	}
}

func luOrg(o *etree.Element, org cda.Organization) {
	if len(org.IDs) == 0 {
		o.CreateElement("id").CreateAttr("nullFlavor", "NI")
	}
	for _, id := range org.IDs {
		cda.AppendII(o, "id", id)
	}
	o.CreateElement("name").SetText(org.Name)
	for _, t := range org.Telecoms {
		te := o.CreateElement("telecom")
		te.CreateAttr("use", t.Use)
		te.CreateAttr("value", t.Value)
	}
	luAddr(o, org.Addr, "WP")
}

// luCode writes a national code with its French display and, when ref is
// set, an originalText reference to the narrative.
func luCode(parent *etree.Element, tag string, c Coding, ref string) *etree.Element {
	el := parent.CreateElement(tag)
	if c.Code == "" {
		el.CreateAttr("nullFlavor", "UNK")
	} else {
		el.CreateAttr("code", c.Code)
		el.CreateAttr("codeSystem", c.System)
		if c.Display != "" && c.System != OIDLUProduct {
			el.CreateAttr("displayName", c.Display)
		}
	}
	if ref != "" {
		el.CreateElement("originalText").CreateElement("reference").CreateAttr("value", "#"+ref)
	}
	return el
}

func frd(s string) string { return labelsFR.date(s) }

func (w *luWriter) section(tpl, code, title string) (sec, text *etree.Element) {
	sec = w.body.CreateElement("component").CreateElement("section")
	templates(sec, tpl)
	c := sec.CreateElement("code")
	c.CreateAttr("code", code)
	c.CreateAttr("codeSystem", OIDLOINC)
	sec.CreateElement("title").SetText(title)
	return sec, sec.CreateElement("text")
}

// luTable writes a narrative table whose rows and cells carry IDs
// (prefixN, prefixN-key).
func luTable(text *etree.Element, prefix string, headers, keys []string, rows [][]string) {
	t := text.CreateElement("table")
	tr := t.CreateElement("thead").CreateElement("tr")
	for _, h := range headers {
		tr.CreateElement("th").SetText(h)
	}
	tb := t.CreateElement("tbody")
	for i, r := range rows {
		row := tb.CreateElement("tr")
		row.CreateAttr("ID", prefix+strconv.Itoa(i+1))
		for j, c := range r {
			td := row.CreateElement("td")
			if j < len(keys) && keys[j] != "" {
				td.CreateAttr("ID", fmt.Sprintf("%s%d-%s", prefix, i+1, keys[j]))
			}
			td.SetText(c)
		}
	}
}

func textRef(el *etree.Element, id string) {
	el.CreateElement("text").CreateElement("reference").CreateAttr("value", "#"+id)
}

func luUUID(prefix string, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", len(prefix)*7919+i, i)
}

func (w *luWriter) medications(s *Summary) {
	sec, text := w.section(luSecMedications, "10160-0", "Traitements en cours")
	if len(s.Medications) == 0 {
		if s.MedicationsAbs == NoKnownMedications {
			luTable(text, "medicationSummary", []string{"Description"}, []string{"desc"}, [][]string{{"Aucun traitement médicamenteux"}})
			sa := sec.CreateElement("entry").CreateElement("substanceAdministration")
			sa.CreateAttr("moodCode", "EVN")
			sa.CreateAttr("classCode", "SBADM")
			templates(sa, luSec[:len(luSec)-2]+"3.12")
			textRef(sa, "medicationSummary1")
			luCode(sa.CreateElement("consumable").CreateElement("manufacturedProduct").CreateElement("manufacturedMaterial"), "code",
				Coding{Code: snomedNoDrugTherapy, System: OIDSNOMED, Display: "Aucun traitement médicamenteux prescrit"}, "medicationSummary1-desc")
		}
		return
	}
	rows := make([][]string, 0, len(s.Medications))
	for _, m := range s.Medications {
		dose := ""
		if m.DoseValue > 0 {
			dose = num(m.DoseValue)
			if m.PeriodValue > 0 {
				dose += " toutes les " + num(m.PeriodValue) + " " + labelsFR.word(m.PeriodUnit)
			}
		}
		rows = append(rows, []string{m.Name, frd(m.Start), frd(m.End), dose})
	}
	luTable(text, "medicationSummary", []string{"Description", "Prise début présumée", "Fin", "Posologie"}, []string{"desc", "start", "end", "dose"}, rows)
	for i, m := range s.Medications {
		id := "medicationSummary" + strconv.Itoa(i+1)
		sa := sec.CreateElement("entry").CreateElement("substanceAdministration")
		sa.CreateAttr("moodCode", "EVN")
		sa.CreateAttr("classCode", "SBADM")
		templates(sa, "1.3.182.11.10.3.12")
		sa.CreateElement("id").CreateAttr("root", luUUID("med"+s.Patient.Birth, i))
		textRef(sa, id)
		st := "active"
		if m.End != "" {
			st = "completed"
		}
		sa.CreateElement("statusCode").CreateAttr("code", st)
		et := sa.CreateElement("effectiveTime")
		et.CreateAttr("xsi:type", "IVL_TS")
		et.CreateElement("low").CreateAttr("value", strings.ReplaceAll(m.Start, "-", ""))
		if m.End != "" {
			et.CreateElement("high").CreateAttr("value", strings.ReplaceAll(m.End, "-", ""))
		} else {
			et.CreateElement("high").CreateAttr("nullFlavor", "UNK")
		}
		if m.PeriodValue > 0 {
			p := sa.CreateElement("effectiveTime")
			p.CreateAttr("xsi:type", "PIVL_TS")
			p.CreateAttr("operator", "A")
			pp := p.CreateElement("period")
			pp.CreateAttr("value", num(m.PeriodValue))
			pp.CreateAttr("unit", m.PeriodUnit)
		}
		if m.Route.Code != "" {
			luCode(sa, "routeCode", m.Route, "")
		}
		if m.DoseValue > 0 {
			dq := sa.CreateElement("doseQuantity")
			dq.CreateAttr("value", num(m.DoseValue))
			dq.CreateAttr("unit", m.DoseUnit)
		}
		mm := sa.CreateElement("consumable").CreateElement("manufacturedProduct").CreateElement("manufacturedMaterial")
		luCode(mm, "code", m.Product, id+"-desc")
		if m.Reason.Code != "" {
			er := sa.CreateElement("entryRelationship")
			er.CreateAttr("typeCode", "RSON")
			o := er.CreateElement("observation")
			o.CreateAttr("classCode", "OBS")
			o.CreateAttr("moodCode", "EVN")
			o.CreateElement("code").CreateAttr("nullFlavor", "NI")
			luCode(o, "value", m.Reason, "").CreateAttr("xsi:type", "CD")
		}
	}
}

func (w *luWriter) allergies(s *Summary) {
	sec, text := w.section(luSecAllergies, "48765-2", "Allergies et intolérances")
	act := sec.CreateElement("entry").CreateElement("act")
	act.CreateAttr("classCode", "ACT")
	act.CreateAttr("moodCode", "EVN")
	templates(act, "1.3.182.11.10.3.5")
	act.CreateElement("code").CreateAttr("nullFlavor", "NA")
	act.CreateElement("statusCode").CreateAttr("code", "active")
	if len(s.Allergies) == 0 {
		luTable(text, "allergy", []string{"Type", "Agent"}, []string{"type", "participant"}, [][]string{{"Aucune allergie connue", ""}})
		if s.AllergiesAbsent == NoKnownAllergies {
			er := act.CreateElement("entryRelationship")
			er.CreateAttr("typeCode", "SUBJ")
			o := er.CreateElement("observation")
			o.CreateAttr("classCode", "OBS")
			o.CreateAttr("moodCode", "EVN")
			templates(o, "1.3.182.11.10.3.4")
			luCode(o, "code", Coding{Code: snomedNoKnownAllergy, System: OIDSNOMED, Display: "Aucune allergie connue"}, "allergy1-type")
			o.CreateElement("statusCode").CreateAttr("code", "completed")
		}
		return
	}
	rows := make([][]string, 0, len(s.Allergies))
	for _, a := range s.Allergies {
		rows = append(rows, []string{a.Type.Display, a.Agent.Display, a.Reaction.Display, a.Severity.Display, frd(a.Onset)})
	}
	luTable(text, "allergy", []string{"Type", "Agent", "Symptôme", "Gravité", "Depuis"}, []string{"type", "participant", "manif", "sev", "start"}, rows)
	for i, a := range s.Allergies {
		id := "allergy" + strconv.Itoa(i+1)
		er := act.CreateElement("entryRelationship")
		er.CreateAttr("typeCode", "SUBJ")
		er.CreateAttr("inversionInd", "false")
		o := er.CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		templates(o, "1.3.182.11.10.3.4")
		luCode(o, "code", a.Type, id+"-type")
		textRef(o, id)
		o.CreateElement("statusCode").CreateAttr("code", "completed")
		if a.Onset != "" {
			o.CreateElement("effectiveTime").CreateElement("low").CreateAttr("value", strings.ReplaceAll(a.Onset, "-", ""))
		}
		v := o.CreateElement("value")
		v.CreateAttr("xsi:type", "CD")
		v.CreateAttr("nullFlavor", "UNK")
		v.CreateElement("originalText").CreateElement("reference").CreateAttr("value", "#"+id)
		pe := o.CreateElement("participant")
		pe.CreateAttr("typeCode", "CSM")
		role := pe.CreateElement("participantRole")
		role.CreateAttr("classCode", "MANU")
		ent := role.CreateElement("playingEntity")
		ent.CreateAttr("classCode", "MMAT")
		luCode(ent, "code", a.Agent, id+"-participant")
		if a.Reaction.Code != "" {
			m := o.CreateElement("entryRelationship")
			m.CreateAttr("typeCode", "MFST")
			mo := m.CreateElement("observation")
			mo.CreateAttr("classCode", "OBS")
			mo.CreateAttr("moodCode", "EVN")
			templates(mo, "1.3.182.11.10.3.2")
			mo.CreateElement("code").CreateAttr("nullFlavor", "UNK")
			textRef(mo, id+"-manif")
			mo.CreateElement("statusCode").CreateAttr("code", "completed")
			luCode(mo, "value", a.Reaction, id+"-manif").CreateAttr("xsi:type", "CD")
		}
		if a.Severity.Code != "" {
			m := o.CreateElement("entryRelationship")
			m.CreateAttr("typeCode", "SUBJ")
			m.CreateAttr("inversionInd", "true")
			mo := m.CreateElement("observation")
			mo.CreateAttr("classCode", "OBS")
			mo.CreateAttr("moodCode", "EVN")
			templates(mo, "1.3.182.11.10.3.6")
			c := mo.CreateElement("code")
			c.CreateAttr("code", "SEV")
			c.CreateAttr("codeSystem", OIDActCode)
			textRef(mo, id+"-sev")
			mo.CreateElement("statusCode").CreateAttr("code", "completed")
			luCode(mo, "value", a.Severity, id+"-sev").CreateAttr("xsi:type", "CD")
		}
		for _, x := range [][3]string{{"82606-5", a.Criticality, OIDCriticalty}, {"66455-7", a.Certainty, OIDAllergyVer}} {
			if x[1] == "" {
				continue
			}
			m := o.CreateElement("entryRelationship")
			m.CreateAttr("typeCode", "SUBJ")
			mo := m.CreateElement("observation")
			mo.CreateAttr("classCode", "OBS")
			mo.CreateAttr("moodCode", "EVN")
			c := mo.CreateElement("code")
			c.CreateAttr("code", x[0])
			c.CreateAttr("codeSystem", OIDLOINC)
			mo.CreateElement("statusCode").CreateAttr("code", "completed")
			v := mo.CreateElement("value")
			v.CreateAttr("xsi:type", "CD")
			v.CreateAttr("code", x[1])
			v.CreateAttr("codeSystem", x[2])
		}
	}
}

func (w *luWriter) immunizations(s *Summary) {
	if len(s.Immunizations) == 0 {
		return
	}
	sec, text := w.section(luSecImmunizations, "11369-6", "Vaccinations")
	rows := make([][]string, 0, len(s.Immunizations))
	for _, im := range s.Immunizations {
		d := ""
		if im.Dose > 0 {
			d = strconv.Itoa(im.Dose)
		}
		rows = append(rows, []string{im.Vaccine.Display, im.Name, d, frd(im.Date)})
	}
	luTable(text, "vacc", []string{"Vaccination", "Produit", "Dose", "Date"}, []string{"vacc", "prod", "dose", "date"}, rows)
	for i, im := range s.Immunizations {
		id := "vacc" + strconv.Itoa(i+1)
		sa := sec.CreateElement("entry").CreateElement("substanceAdministration")
		sa.CreateAttr("moodCode", "EVN")
		sa.CreateAttr("classCode", "SBADM")
		sa.CreateAttr("negationInd", "false")
		templates(sa, "1.3.182.11.10.3.1")
		sa.CreateElement("id").CreateAttr("root", luUUID("vacc"+s.Patient.Birth, i))
		c := sa.CreateElement("code")
		c.CreateAttr("code", "IMMUNIZ")
		c.CreateAttr("codeSystem", "1.3.5.1.4.1.19376.1.5.3.2")
		textRef(sa, id)
		sa.CreateElement("statusCode").CreateAttr("code", "completed")
		sa.CreateElement("effectiveTime").CreateAttr("value", strings.ReplaceAll(im.Date, "-", ""))
		cs := sa.CreateElement("consumable")
		cs.CreateAttr("typeCode", "CSM")
		mp := cs.CreateElement("manufacturedProduct")
		mp.CreateAttr("classCode", "MANU")
		mm := mp.CreateElement("manufacturedMaterial")
		mm.CreateAttr("classCode", "MMAT")
		mm.CreateAttr("determinerCode", "KIND")
		luCode(mm, "code", im.Vaccine, id+"-vacc")
		if im.Name != "" {
			mm.CreateElement("name").SetText(im.Name)
		} else {
			mm.CreateElement("name").CreateAttr("nullFlavor", "UNK")
		}
		if im.Dose > 0 {
			er := sa.CreateElement("entryRelationship")
			er.CreateAttr("typeCode", "SUBJ")
			o := er.CreateElement("observation")
			o.CreateAttr("classCode", "OBS")
			o.CreateAttr("moodCode", "EVN")
			c := o.CreateElement("code")
			c.CreateAttr("code", "30973-2")
			c.CreateAttr("codeSystem", OIDLOINC)
			v := o.CreateElement("value")
			v.CreateAttr("xsi:type", "INT")
			v.CreateAttr("value", strconv.Itoa(im.Dose))
		}
	}
}

func (w *luWriter) problems(s *Summary, ps []Problem, tpl, code, title, prefix string) {
	if len(ps) == 0 {
		if tpl == luSecProblems && s.ProblemsAbsent == NoKnownProblems {
			sec, text := w.section(tpl, code, title)
			luTable(text, prefix, []string{"Maladie/Problème"}, []string{"type"}, [][]string{{"Aucun problème actuel"}})
			act := sec.CreateElement("entry").CreateElement("act")
			act.CreateAttr("classCode", "ACT")
			act.CreateAttr("moodCode", "EVN")
			templates(act, "1.3.182.11.10.3.11")
			act.CreateElement("code").CreateAttr("nullFlavor", "NA")
			er := act.CreateElement("entryRelationship")
			er.CreateAttr("typeCode", "SUBJ")
			o := er.CreateElement("observation")
			o.CreateAttr("classCode", "OBS")
			o.CreateAttr("moodCode", "EVN")
			templates(o, "1.3.182.11.10.3.2")
			o.CreateElement("code").CreateAttr("nullFlavor", "NI")
			luCode(o, "value", Coding{Code: snomedNoCurrentProblems, System: OIDSNOMED, Display: "Aucun problème actuel ni handicap"}, prefix+"1-type").CreateAttr("xsi:type", "CD")
		}
		return
	}
	sec, text := w.section(tpl, code, title)
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, []string{p.Text, p.Code.Display, frd(p.Onset), frd(p.End)})
	}
	luTable(text, prefix, []string{"Maladie/Problème", "Diagnostic", "Date d'apparition présumée", "Fin présumée"}, []string{"type", "desc", "start", "end"}, rows)
	act := sec.CreateElement("entry").CreateElement("act")
	act.CreateAttr("classCode", "ACT")
	act.CreateAttr("moodCode", "EVN")
	templates(act, "1.3.182.11.10.3.11")
	act.CreateElement("code").CreateAttr("nullFlavor", "NA")
	act.CreateElement("statusCode").CreateAttr("code", "active")
	for i, p := range ps {
		id := prefix + strconv.Itoa(i+1)
		er := act.CreateElement("entryRelationship")
		er.CreateAttr("typeCode", "SUBJ")
		er.CreateAttr("inversionInd", "false")
		o := er.CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		templates(o, "1.3.182.11.10.3.2")
		o.CreateElement("id").CreateAttr("root", luUUID(prefix+s.Patient.Birth, i))
		o.CreateElement("code").CreateAttr("nullFlavor", "NI")
		textRef(o, id)
		o.CreateElement("statusCode").CreateAttr("code", "completed")
		et := o.CreateElement("effectiveTime")
		et.CreateAttr("xsi:type", "IVL_TS")
		et.CreateElement("low").CreateAttr("value", strings.ReplaceAll(p.Onset, "-", ""))
		if p.End != "" {
			et.CreateElement("high").CreateAttr("value", strings.ReplaceAll(p.End, "-", ""))
		}
		luCode(o, "value", p.Code, id+"-type").CreateAttr("xsi:type", "CD")
	}
}

func (w *luWriter) surgeries(s *Summary) {
	if len(s.Procedures) == 0 {
		return
	}
	sec, text := w.section(luSecSurgeries, "47519-4", "Antécédents chirurgicaux")
	rows := make([][]string, 0, len(s.Procedures))
	for _, p := range s.Procedures {
		rows = append(rows, []string{p.Code.Display, frd(p.Date)})
	}
	luTable(text, "surg", []string{"Procédure", "Date"}, []string{"type", "date"}, rows)
	for i, p := range s.Procedures {
		id := "surg" + strconv.Itoa(i+1)
		pr := sec.CreateElement("entry").CreateElement("procedure")
		pr.CreateAttr("classCode", "PROC")
		pr.CreateAttr("moodCode", "EVN")
		templates(pr, "1.3.182.11.10.3.13")
		luCode(pr, "code", p.Code, id+"-type")
		textRef(pr, id)
		pr.CreateElement("statusCode").CreateAttr("code", "completed")
		pr.CreateElement("effectiveTime").CreateAttr("value", strings.ReplaceAll(p.Date, "-", ""))
	}
}

func (w *luWriter) devices(s *Summary) {
	if len(s.Devices) == 0 {
		return
	}
	sec, text := w.section(luSecDevices, "46264-8", "Dispositifs médicaux")
	rows := make([][]string, 0, len(s.Devices))
	for _, d := range s.Devices {
		rows = append(rows, []string{d.Code.Display, d.ID, frd(d.Start)})
	}
	luTable(text, "devices", []string{"Description", "Identifiant", "Date de pose"}, []string{"desc", "id", "date"}, rows)
	for i, d := range s.Devices {
		id := "devices" + strconv.Itoa(i+1)
		sp := sec.CreateElement("entry").CreateElement("supply")
		sp.CreateAttr("moodCode", "EVN")
		sp.CreateAttr("classCode", "SPLY")
		templates(sp, "1.3.182.11.10.3.10")
		textRef(sp, id)
		et := sp.CreateElement("effectiveTime")
		et.CreateAttr("xsi:type", "IVL_TS")
		et.CreateElement("low").CreateAttr("value", strings.ReplaceAll(d.Start, "-", ""))
		pa := sp.CreateElement("participant")
		pa.CreateAttr("typeCode", "DEV")
		role := pa.CreateElement("participantRole")
		role.CreateAttr("classCode", "MANU")
		if d.ID != "" {
			ii := role.CreateElement("id")
			ii.CreateAttr("root", "1.3.182.3.1.1.10000000.9")
			ii.CreateAttr("extension", d.ID)
		}
		pd := role.CreateElement("playingDevice")
		pd.CreateAttr("classCode", "DEV")
		pd.CreateAttr("determinerCode", "INSTANCE")
		luCode(pd, "code", d.Code, id+"-desc")
	}
}

func (w *luWriter) pregnancy(s *Summary) {
	p := s.Pregnancy
	if p == nil {
		return
	}
	sec, text := w.section(luSecPregnancy, "10162-6", "Grossesse")
	luTable(text, "pregn", []string{"Statut", "Date présumée d'accouchement"}, []string{"status", "date"}, [][]string{{p.Status.Display, frd(p.ExpectedBirth)}})
	obs := func(code, disp string) *etree.Element {
		o := sec.CreateElement("entry").CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		templates(o, "1.3.182.11.10.3.9")
		c := o.CreateElement("code")
		c.CreateAttr("code", code)
		c.CreateAttr("codeSystem", OIDLOINC)
		c.CreateAttr("displayName", disp)
		textRef(o, "pregn1")
		o.CreateElement("statusCode").CreateAttr("code", "completed")
		o.CreateElement("effectiveTime").CreateAttr("value", strings.ReplaceAll(p.Observed, "-", ""))
		return o
	}
	luCode(obs("82810-3", "Statut de grossesse"), "value", p.Status, "pregn1-status").CreateAttr("xsi:type", "CD")
	if p.ExpectedBirth != "" {
		v := obs("11778-8", "Date présumée d'accouchement (Estimation clinique)").CreateElement("value")
		v.CreateAttr("xsi:type", "TS")
		v.CreateAttr("value", strings.ReplaceAll(p.ExpectedBirth, "-", ""))
	}
	for _, oc := range p.Outcomes {
		o := sec.CreateElement("entry").CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		luCode(o, "code", oc.Outcome, "")
		o.CreateElement("statusCode").CreateAttr("code", "completed")
		v := o.CreateElement("value")
		v.CreateAttr("xsi:type", "INT")
		v.CreateAttr("value", strconv.Itoa(oc.Count))
	}
}

func (w *luWriter) observations(obs []Observation, tpl, code, title, prefix string) {
	if len(obs) == 0 {
		return
	}
	sec, text := w.section(tpl, code, title)
	rows := make([][]string, 0, len(obs))
	for _, o := range obs {
		v := o.String
		if o.IsQuantity {
			v = num(o.Value) + " " + o.Unit
		} else if o.Coded.Code != "" {
			v = o.Coded.Display
		}
		rows = append(rows, []string{o.Code.Display, v, frd(o.Date)})
	}
	luTable(text, prefix, []string{"Examen", "Valeur", "Date"}, []string{"code", "value", "date"}, rows)
	for i, o := range obs {
		if o.Code.Code == "" {
			continue
		}
		id := prefix + strconv.Itoa(i+1)
		ob := sec.CreateElement("entry").CreateElement("observation")
		ob.CreateAttr("classCode", "OBS")
		ob.CreateAttr("moodCode", "EVN")
		templates(ob, "1.3.182.11.10.3.14")
		luCode(ob, "code", o.Code, id+"-code")
		textRef(ob, id)
		ob.CreateElement("statusCode").CreateAttr("code", "completed")
		et := ob.CreateElement("effectiveTime")
		if o.End != "" {
			et.CreateElement("low").CreateAttr("value", strings.ReplaceAll(o.Date, "-", ""))
			et.CreateElement("high").CreateAttr("value", strings.ReplaceAll(o.End, "-", ""))
		} else {
			et.CreateAttr("value", strings.ReplaceAll(o.Date, "-", ""))
		}
		switch {
		case o.IsQuantity:
			v := ob.CreateElement("value")
			v.CreateAttr("xsi:type", "PQ")
			v.CreateAttr("value", num(o.Value))
			v.CreateAttr("unit", o.Unit)
		case o.Coded.Code != "":
			luCode(ob, "value", o.Coded, "").CreateAttr("xsi:type", "CD")
		default:
			v := ob.CreateElement("value")
			v.CreateAttr("xsi:type", "ST")
			v.SetText(o.String)
		}
		if o.Interp != "" {
			ic := ob.CreateElement("interpretationCode")
			ic.CreateAttr("code", o.Interp)
			ic.CreateAttr("codeSystem", "2.16.840.1.113883.5.83")
		}
	}
}

func (w *luWriter) texts(items []TextItem, tpl, code, title, prefix string) {
	if len(items) == 0 {
		return
	}
	_, text := w.section(tpl, code, title)
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, []string{it.Text, frd(it.Date)})
	}
	luTable(text, prefix, []string{"Description", "Date"}, []string{"desc", "date"}, rows)
}
