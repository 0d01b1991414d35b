package ps

import (
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/terminology"
)

// eHDSI value sets used by the Patient Summary entries.
const (
	vsAdverseEventType = "1.3.6.1.4.1.12559.11.10.1.3.1.42.18"
	vsAllergenNoDrug   = "1.3.6.1.4.1.12559.11.10.1.3.1.42.19"
	vsReactionAllergy  = "1.3.6.1.4.1.12559.11.10.1.3.1.42.11"
	vsSeverity         = "1.3.6.1.4.1.12559.11.10.1.3.1.42.13"
	vsCriticality      = "1.3.6.1.4.1.12559.11.10.1.3.1.42.57"
	vsAllergyCertainty = "1.3.6.1.4.1.12559.11.10.1.3.1.42.58"
	vsAllergyStatus    = "1.3.6.1.4.1.12559.11.10.1.3.1.42.59"
	vsProcedure        = "1.3.6.1.4.1.12559.11.10.1.3.1.42.10"
	vsMedicalDevice    = "1.3.6.1.4.1.12559.11.10.1.3.1.42.8"
	vsVaccine          = "1.3.6.1.4.1.12559.11.10.1.3.1.42.28"
	vsSocialHistory    = "1.3.6.1.4.1.12559.11.10.1.3.1.42.14"
	vsPregnancyStatus  = "1.3.6.1.4.1.12559.11.10.1.3.1.42.60"
	vsPregnancyOutcome = "1.3.6.1.4.1.12559.11.10.1.3.1.42.62"
	vsBloodPressure    = "1.3.6.1.4.1.12559.11.10.1.3.1.42.21"
	vsStatusCode       = "1.3.6.1.4.1.12559.11.10.1.3.1.42.15"
)

const tplPrefix = "1.3.6.1.4.1.12559.11.10.1.3.1."

func t(suffix string) string { return tplPrefix + suffix }

// absentDisplay is the English MVC display of the absent-or-unknown codes.
var absentDisplay = map[string]string{
	NoKnownAllergies:   "No known allergies",
	NoAllergyInfo:      "No information about allergies",
	NoKnownMedications: "No known medications",
	NoMedicationInfo:   "No information about medications",
	NoKnownProblems:    "No known problems",
	NoProblemInfo:      "No information about current problems",
	NoKnownProcedures:  "No known procedures",
	NoProcedureInfo:    "No information about past history of procedures",
	NoKnownDevices:     "No known devices in use",
	NoDeviceInfo:       "No information about device",
}

func absent(code, def string) cda.Coded {
	if _, ok := absentDisplay[code]; !ok {
		code = def
	}
	return cda.MVCOnly(Coding{Code: code, System: OIDAbsent, Display: absentDisplay[code]})
}

func concern(parent *etree.Element, tpls ...string) *etree.Element {
	act := parent.CreateElement("entry").CreateElement("act")
	act.CreateAttr("classCode", "ACT")
	act.CreateAttr("moodCode", "EVN")
	templates(act, tpls...)
	return act
}

func concernCode(act *etree.Element) {
	cda.AppendCoded(act, "code", cda.MVCOnly(Coding{Code: "CONC", System: cda.OIDActClass, Display: "Concern"}))
}

func subj(parent *etree.Element, typeCode string, inversion string) *etree.Element {
	er := parent.CreateElement("entryRelationship")
	er.CreateAttr("typeCode", typeCode)
	if inversion != "" {
		er.CreateAttr("inversionInd", inversion)
	}
	o := er.CreateElement("observation")
	o.CreateAttr("classCode", "OBS")
	o.CreateAttr("moodCode", "EVN")
	return o
}

// ---- Allergies (2.12) ----

func (b *builder) allergies(body *etree.Element) error {
	sec, text := b.section(body, []string{t("2.12")}, "48765-2", "Allergies and adverse reactions Document")
	if len(b.s.Allergies) == 0 {
		c := absent(b.s.AllergiesAbsent, NoAllergyInfo)
		b.para(text, b.l.word(c.MVC.Code), "allergy-none")
		act := concern(sec, t("3.16"))
		b.entryID(act, "al", 0)
		concernCode(act)
		status(act, "active")
		act.CreateElement("effectiveTime").CreateElement("low").CreateAttr("nullFlavor", "NA")
		o := subj(act, "SUBJ", "false")
		templates(o, t("3.17"))
		b.entryID(o, "al", 0, 1)
		cda.AppendCoded(o, "code", cda.MVCOnly(Coding{Code: "609328004", System: OIDSNOMED, Display: "Allergic disposition"}))
		ref(o, "allergy-none")
		status(o, "completed")
		low := o.CreateElement("effectiveTime").CreateElement("low")
		low.CreateAttr("nullFlavor", "NA")
		coded(o, "value", "CD", c)
		return nil
	}
	rows := make([][]string, 0, len(b.s.Allergies))
	id := func(i int) string { return "allergy-" + strconv.Itoa(i+1) }
	for i, a := range b.s.Allergies {
		typ, err := b.code(spec{"allergy/code", vsAdverseEventType, terminology.UsageRNFA}, a.Type, "")
		if err != nil {
			return err
		}
		agentVS := vsAllergenNoDrug
		if a.Agent.System == OIDATC || a.Agent.System == OIDLUProduct {
			agentVS = terminology.VSActiveIngredient
		}
		agent, err := b.code(spec{"allergy/participant/playingEntity/code", agentVS, terminology.UsageRNFA}, a.Agent, "")
		if err != nil {
			return err
		}
		act := concern(sec, t("3.16"))
		b.entryID(act, "al", i)
		concernCode(act)
		st := "active"
		if a.Status == "resolved" || a.Status == "inactive" || a.End != "" {
			st = "completed"
		}
		status(act, st)
		if st == "completed" {
			et := ivl(act, "effectiveTime", a.Onset, a.End, false)
			if a.End == "" {
				ts(et, "high", "")
			}
		} else {
			ivl(act, "effectiveTime", a.Onset, "", false)
		}
		o := subj(act, "SUBJ", "false")
		templates(o, t("3.17"))
		b.entryID(o, "al", i, 1)
		cda.AppendCoded(o, "code", typ)
		ref(o, id(i))
		status(o, "completed")
		ivl(o, "effectiveTime", a.Onset, a.End, false)
		pr := o.CreateElement("participant")
		pr.CreateAttr("typeCode", "CSM")
		role := pr.CreateElement("participantRole")
		role.CreateAttr("classCode", "MANU")
		pe := role.CreateElement("playingEntity")
		pe.CreateAttr("classCode", "MMAT")
		cda.AppendCoded(pe, "code", agent)
		reaction, sev := "", ""
		if a.Reaction.Code != "" {
			rc, err := b.code(spec{"allergy/MFST/value", vsReactionAllergy, terminology.UsageOptional}, a.Reaction, "")
			if err != nil {
				return err
			}
			reaction = display("", a.Reaction, rc)
			m := subj(o, "MFST", "true")
			templates(m, t("3.44"))
			b.entryID(m, "al", i, 2)
			cda.AppendCoded(m, "code", cda.MVCOnly(Coding{Code: "418799008", System: OIDSNOMED, Display: "Finding reported by subject or history provider"}))
			ref(m, id(i))
			status(m, "completed")
			ivl(m, "effectiveTime", a.Onset, "", false)
			coded(m, "value", "CD", rc)
			if a.Severity.Code != "" {
				sc, err := b.code(spec{"allergy/MFST/severity", vsSeverity, terminology.UsageOptional}, a.Severity, "")
				if err != nil {
					return err
				}
				sev = display("", a.Severity, sc)
				so := subj(m, "SUBJ", "true")
				templates(so, t("3.8"))
				cda.AppendCoded(so, "code", cda.MVCOnly(Coding{Code: "SEV", System: OIDActCode, Display: "Severity"}))
				ref(so, id(i))
				status(so, "completed")
				coded(so, "value", "CD", sc)
			}
		}
		if a.Criticality != "" {
			c := subj(o, "SUBJ", "true")
			templates(c, t("3.33"))
			cda.AppendCoded(c, "code", cda.MVCOnly(Coding{Code: "82606-5", System: OIDLOINC, Display: "Allergy or intolerance criticality"}))
			ref(c, id(i))
			status(c, "completed")
			v, _ := b.code(spec{"allergy/criticality", vsCriticality, terminology.UsageOptional}, Coding{Code: a.Criticality, System: OIDCriticalty}, "")
			coded(c, "value", "CE", v)
		}
		if a.Certainty != "" {
			c := subj(o, "SUBJ", "true")
			templates(c, t("3.35"))
			cda.AppendCoded(c, "code", cda.MVCOnly(Coding{Code: "66455-7", System: OIDLOINC, Display: "Condition status"}))
			ref(c, id(i))
			status(c, "completed")
			v, _ := b.code(spec{"allergy/certainty", vsAllergyCertainty, terminology.UsageOptional}, Coding{Code: a.Certainty, System: OIDAllergyVer}, "")
			coded(c, "value", "CE", v)
		}
		if a.Status != "" {
			c := subj(o, "REFR", "")
			templates(c, t("3.34"))
			cda.AppendCoded(c, "code", cda.MVCOnly(Coding{Code: "33999-4", System: OIDLOINC, Display: "Status"}))
			ref(c, id(i))
			status(c, "completed")
			v, _ := b.code(spec{"allergy/status", vsAllergyStatus, terminology.UsageOptional}, Coding{Code: a.Status, System: OIDAllergyCli}, "")
			coded(c, "value", "CE", v)
		}
		rows = append(rows, []string{display("", a.Type, typ), display(a.Text, a.Agent, agent), reaction, sev,
			b.l.word(a.Criticality), b.l.word(a.Status), b.l.date(a.Onset)})
	}
	b.table(text, b.cols("type", "agent", "reaction", "severity", "criticality", "status", "onset"), rows, id)
	return nil
}

// ---- Medication summary (2.3) ----

func (b *builder) medications(body *etree.Element) error {
	sec, text := b.section(body, []string{t("2.3"), "2.16.840.1.113883.10.20.1.8"}, "10160-0", "History of Medication use Narrative")
	if len(b.s.Medications) == 0 {
		c := absent(b.s.MedicationsAbs, NoMedicationInfo)
		b.para(text, b.l.word(c.MVC.Code), "medication-none")
		sa := sec.CreateElement("entry").CreateElement("substanceAdministration")
		sa.CreateAttr("classCode", "SBADM")
		sa.CreateAttr("moodCode", "INT")
		templates(sa, t("3.4"), "2.16.840.1.113883.10.20.1.24")
		b.entryID(sa, "md", 0)
		cda.AppendCoded(sa, "code", c)
		ref(sa, "medication-none")
		status(sa, "completed")
		et := sa.CreateElement("effectiveTime")
		et.CreateAttr("xsi:type", "IVL_TS")
		et.CreateAttr("nullFlavor", "UNK")
		cda.AppendNull(sa, "effectiveTime", "NA")
		mp := sa.CreateElement("consumable").CreateElement("manufacturedProduct")
		mp.CreateAttr("classCode", "MANU")
		templates(mp, t("3.31"))
		mm := mp.CreateElement("manufacturedMaterial")
		mm.CreateAttr("classCode", "MMAT")
		mm.CreateAttr("determinerCode", "KIND")
		mm.CreateAttr("nullFlavor", "NA")
		templates(mm, t("3.32"))
		return nil
	}
	id := func(i int) string { return "medication-" + strconv.Itoa(i+1) }
	rows := make([][]string, 0, len(b.s.Medications))
	for i, m := range b.s.Medications {
		sa := sec.CreateElement("entry").CreateElement("substanceAdministration")
		sa.CreateAttr("classCode", "SBADM")
		sa.CreateAttr("moodCode", "INT")
		templates(sa, t("3.4"), "2.16.840.1.113883.10.20.1.24")
		b.entryID(sa, "md", i)
		ref(sa, id(i))
		st := "active"
		if m.End != "" {
			st = "completed"
		}
		status(sa, st)
		ivl(sa, "effectiveTime", m.Start, m.End, true)
		if m.PeriodValue > 0 && m.PeriodUnit != "" {
			et := sa.CreateElement("effectiveTime")
			et.CreateAttr("xsi:type", "PIVL_TS")
			et.CreateAttr("institutionSpecified", "true")
			et.CreateAttr("operator", "A")
			p := et.CreateElement("period")
			p.CreateAttr("value", num(m.PeriodValue))
			p.CreateAttr("unit", m.PeriodUnit)
		} else {
			// frequency unknown: the eHDSI item needs a second effectiveTime,
			// and it may not be null when the first one is not.
			et := sa.CreateElement("effectiveTime")
			et.CreateAttr("xsi:type", "PIVL_TS")
			et.CreateAttr("operator", "A")
			cda.AppendNull(et, "period", "UNK")
		}
		ingr, prodRoute := b.productIngredients(m.Product)
		if len(m.Ingredients) > 0 {
			ingr = b.completeStrengths(m)
		}
		route := ""
		if rt := m.Route; rt.Code != "" || prodRoute.Code != "" {
			if rt.Code == "" {
				rt = prodRoute
			}
			rc, err := b.code(spec{"medication/routeCode", terminology.VSRoute, terminology.UsageOptional}, rt, "")
			if err != nil {
				return err
			}
			if rc.Null == "" {
				rc.Text = ""
				cda.AppendCoded(sa, "routeCode", rc)
				route = b.mvcDisplay(rc)
			} else {
				route = display("", rt, rc)
			}
		}
		if m.DoseValue > 0 {
			dq := sa.CreateElement("doseQuantity")
			dq.CreateAttr("value", num(m.DoseValue))
			u := m.DoseUnit
			if u == "" {
				u = "1"
			}
			dq.CreateAttr("unit", u)
		}
		mp := sa.CreateElement("consumable").CreateElement("manufacturedProduct")
		mp.CreateAttr("classCode", "MANU")
		templates(mp, t("3.31"))
		mm := mp.CreateElement("manufacturedMaterial")
		mm.CreateAttr("classCode", "MMAT")
		mm.CreateAttr("determinerCode", "KIND")
		templates(mm, t("3.32"))
		name := m.Name
		if name == "" {
			name = m.Product.Display
		}
		if name != "" {
			mm.CreateElement("name").SetText(name)
		}
		form := ""
		fc := m.DoseForm
		if fc.Code == "" && m.Product.System == OIDLUProduct {
			fc = m.Product // the terminology knows each LU product's EDQM dose form
		}
		if fc.Code != "" {
			c, _ := b.code(spec{"medication/formCode", terminology.VSDoseForm, terminology.UsageOptional}, fc, "")
			if c.Null == "" {
				c.Original = Coding{}
				if m.DoseForm.Code != "" && m.DoseForm.Code != c.MVC.Code {
					c.Original = m.DoseForm
				}
				c.Text = ""
				cda.AppendCoded(mm, "pharm:formCode", c)
				form = b.mvcDisplay(c)
			}
		}
		var names []string
		var kind *etree.Element // pharm:asSpecializedKind, placed before the ingredients
		firstIngredient := len(mm.Child)
		for k, in := range ingr {
			c, err := b.code(spec{"medication/ingredient/ingredientSubstance/code", terminology.VSActiveIngredient, terminology.UsageRNFA}, in.Substance, name)
			if err != nil {
				return err
			}
			if c.Null == "" {
				c.Text = ""
			}
			if k == 0 && m.Product.System == OIDLUProduct && c.Original.Code == "" {
				c.Original = m.Product // the national product code, kept as translation
			}
			if c.Null != "" && (c.Text != "" || c.Original.Code != "") {
				c.Null = "OTH" // the only nullFlavor that may carry originalText/translation
			}
			var is *etree.Element
			if in.StrengthValue > 0 && in.StrengthUnit != "" {
				ig := mm.CreateElement("pharm:ingredient")
				ig.CreateAttr("classCode", "ACTI")
				q := ig.CreateElement("pharm:quantity")
				qn := q.CreateElement("numerator")
				qn.CreateAttr("xsi:type", "PQ")
				qn.CreateAttr("value", num(in.StrengthValue))
				qn.CreateAttr("unit", in.StrengthUnit)
				d := q.CreateElement("denominator")
				d.CreateAttr("xsi:type", "PQ")
				d.CreateAttr("value", "1")
				d.CreateAttr("unit", "1")
				is = ig.CreateElement("pharm:ingredientSubstance")
			} else if kind == nil {
				// Strength unknown: eHDSI needs a strength for an ingredient, so
				// the substance is written as the product's generalized kind.
				kind = etree.NewElement("pharm:asSpecializedKind")
				kind.CreateAttr("classCode", "GEN")
				is = kind.CreateElement("pharm:generalizedMaterialKind")
			}
			if is != nil {
				is.CreateAttr("classCode", "MMAT")
				is.CreateAttr("determinerCode", "KIND")
				cda.AppendCoded(is, "pharm:code", c)
			}
			n := c.MVC.Display
			if in.Substance.System != OIDLUProduct && in.Substance.Display != "" {
				n = in.Substance.Display
			}
			if n == "" {
				n = c.Text
			}
			if in.StrengthValue > 0 {
				n += " " + num(in.StrengthValue) + " " + in.StrengthUnit
			}
			names = append(names, n)
		}
		if kind != nil {
			mm.InsertChildAt(firstIngredient, kind)
		}
		reason := ""
		if m.Reason.Code != "" {
			rc, err := b.code(spec{"medication/reason", terminology.VSIllnessDisorder, terminology.UsageOptional}, m.Reason, "")
			if err != nil {
				return err
			}
			reason = display("", m.Reason, rc)
			o := subj(sa, "RSON", "")
			templates(o, t("3.41"), "1.3.6.1.4.1.19376.1.5.3.1.4.13")
			b.entryID(o, "md", i, 1)
			cda.AppendCoded(o, "code", cda.MVCOnly(Coding{Code: "64572001", System: OIDSNOMED, Display: "Disease"}))
			ref(o, id(i))
			status(o, "completed")
			ts(o, "effectiveTime", m.Start)
			coded(o, "value", "CE", rc)
		}
		dose := ""
		if m.DoseValue > 0 {
			u := m.DoseUnit
			if u == "1" {
				u = ""
			}
			dose = strings.TrimSpace(num(m.DoseValue) + " " + u)
			if m.PeriodValue > 0 {
				dose += " " + b.l.word("every") + " " + num(m.PeriodValue) + " " + b.l.word(m.PeriodUnit)
			}
		}
		period := joinNonEmpty(" – ", b.l.date(m.Start), b.l.date(m.End))
		rows = append(rows, []string{name, strings.Join(names, ", "), form, route, dose, period, reason})
	}
	b.table(text, b.cols("product", "ingredients", "form", "route", "dose", "date", "reason"), rows, id)
	return nil
}

// ---- Problems (2.9) and past illnesses (2.10) ----

func (b *builder) problems(body *etree.Element) error {
	sec, text := b.section(body, []string{t("2.9"), "2.16.840.1.113883.10.20.1.11"}, "11450-4", "Problem list - Reported")
	if len(b.s.Problems) == 0 {
		c := absent(b.s.ProblemsAbsent, NoProblemInfo)
		b.para(text, b.l.word(c.MVC.Code), "problem-none")
		act := concern(sec, t("3.15"), "2.16.840.1.113883.10.20.1.27")
		b.entryID(act, "pb", 0)
		concernCode(act)
		status(act, "active")
		o := subj(act, "SUBJ", "false")
		templates(o, t("3.7"))
		b.entryID(o, "pb", 0, 1)
		cda.AppendCoded(o, "code", cda.MVCOnly(Coding{Code: "55607006", System: OIDSNOMED, Display: "Problem"}))
		ref(o, "problem-none")
		status(o, "completed")
		coded(o, "value", "CD", c)
		return nil
	}
	return b.problemEntries(sec, text, b.s.Problems, "pb", "problem", false)
}

func (b *builder) pastIllnesses(body *etree.Element) error {
	if len(b.s.PastIllnesses) == 0 {
		return nil
	}
	sec, text := b.section(body, []string{t("2.10")}, "11348-0", "History of Past illness Narrative")
	return b.problemEntries(sec, text, b.s.PastIllnesses, "hp", "history", true)
}

func (b *builder) problemEntries(sec, text *etree.Element, ps []Problem, key, prefix string, past bool) error {
	id := func(i int) string { return prefix + "-" + strconv.Itoa(i+1) }
	rows := make([][]string, 0, len(ps))
	for i, p := range ps {
		c, err := b.code(spec{"problem/value", terminology.VSIllnessDisorder, terminology.UsageRNFA}, p.Code, p.Text)
		if err != nil {
			return err
		}
		act := concern(sec, t("3.15"), "2.16.840.1.113883.10.20.1.27")
		b.entryID(act, key, i)
		concernCode(act)
		ref(act, id(i))
		done := past || p.End != "" || p.Status == "resolved" || p.Status == "inactive"
		if done {
			status(act, "completed")
			end := p.End
			ivl(act, "effectiveTime", p.Onset, end, false)
			if end == "" {
				ts(act.SelectElement("effectiveTime"), "high", "")
			}
		} else {
			status(act, "active")
			ivl(act, "effectiveTime", p.Onset, "", false)
		}
		o := subj(act, "SUBJ", "false")
		templates(o, t("3.7"))
		b.entryID(o, key, i, 1)
		cda.AppendCoded(o, "code", cda.MVCOnly(Coding{Code: "55607006", System: OIDSNOMED, Display: "Problem"}))
		ref(o, id(i))
		status(o, "completed")
		ivl(o, "effectiveTime", p.Onset, p.End, false)
		coded(o, "value", "CD", c)
		st := p.Status
		if st == "" && past {
			st = "resolved"
		}
		rows = append(rows, []string{display(p.Text, p.Code, c), b.l.date(p.Onset), b.l.date(p.End), b.l.word(st)})
	}
	b.table(text, b.cols("problem", "onset", "end", "status"), rows, id)
	return nil
}

// ---- Procedures (2.11) ----

func (b *builder) procedures(body *etree.Element) error {
	sec, text := b.section(body, []string{t("2.11")}, "47519-4", "History of Procedures Document")
	if len(b.s.Procedures) == 0 {
		c := absent(b.s.ProceduresAbs, NoProcedureInfo)
		b.para(text, b.l.word(c.MVC.Code), "procedure-none")
		p := sec.CreateElement("entry").CreateElement("procedure")
		p.CreateAttr("classCode", "PROC")
		p.CreateAttr("moodCode", "EVN")
		templates(p, t("3.26"))
		b.entryID(p, "pr", 0)
		cda.AppendCoded(p, "code", c)
		ref(p, "procedure-none")
		status(p, "completed")
		et := p.CreateElement("effectiveTime")
		et.CreateAttr("nullFlavor", "NA")
		return nil
	}
	id := func(i int) string { return "procedure-" + strconv.Itoa(i+1) }
	rows := make([][]string, 0, len(b.s.Procedures))
	for i, pr := range b.s.Procedures {
		c, err := b.code(spec{"procedure/code", vsProcedure, terminology.UsageOptional}, pr.Code, pr.Text)
		if err != nil {
			return err
		}
		p := sec.CreateElement("entry").CreateElement("procedure")
		p.CreateAttr("classCode", "PROC")
		p.CreateAttr("moodCode", "EVN")
		templates(p, t("3.26"))
		b.entryID(p, "pr", i)
		cda.AppendCoded(p, "code", c)
		ref(p, id(i))
		status(p, "completed")
		ts(p, "effectiveTime", pr.Date)
		rows = append(rows, []string{display(pr.Text, pr.Code, c), b.l.date(pr.Date)})
	}
	b.table(text, b.cols("procedure", "date"), rows, id)
	return nil
}

// ---- Medical devices (2.4) ----

func (b *builder) devices(body *etree.Element) error {
	sec, text := b.section(body, []string{t("2.4"), "2.16.840.1.113883.10.20.1.7"}, "46264-8", "History of medical device use")
	dev := func(i int, low, high string, code cda.Coded, ref1, devID string) {
		s := sec.CreateElement("entry").CreateElement("supply")
		s.CreateAttr("classCode", "SPLY")
		s.CreateAttr("moodCode", "EVN")
		templates(s, t("3.5"))
		b.entryID(s, "dv", i)
		ref(s, ref1)
		if low == "" && high == "" && code.MVC.System == OIDAbsent {
			et := s.CreateElement("effectiveTime")
			et.CreateAttr("xsi:type", "IVL_TS")
			cda.AppendNull(et, "low", "UNK")
		} else {
			ivl(s, "effectiveTime", low, high, true)
		}
		pr := s.CreateElement("participant")
		pr.CreateAttr("typeCode", "DEV")
		role := pr.CreateElement("participantRole")
		role.CreateAttr("classCode", "MANU")
		if devID != "" {
			cda.AppendII(role, "id", cda.II{Root: b.idRoot + ".3", Extension: devID})
		}
		pd := role.CreateElement("playingDevice")
		pd.CreateAttr("classCode", "DEV")
		pd.CreateAttr("determinerCode", "INSTANCE")
		cda.AppendCoded(pd, "code", code)
	}
	if len(b.s.Devices) == 0 {
		c := absent(b.s.DevicesAbsent, NoDeviceInfo)
		b.para(text, b.l.word(c.MVC.Code), "device-none")
		dev(0, "", "", c, "device-none", "")
		return nil
	}
	id := func(i int) string { return "device-" + strconv.Itoa(i+1) }
	rows := make([][]string, 0, len(b.s.Devices))
	for i, d := range b.s.Devices {
		c, err := b.code(spec{"device/code", vsMedicalDevice, terminology.UsageOptional}, d.Code, d.Text)
		if err != nil {
			return err
		}
		dev(i, d.Start, d.End, c, id(i), d.ID)
		rows = append(rows, []string{display(d.Text, d.Code, c), d.ID, b.l.date(d.Start), b.l.date(d.End)})
	}
	b.table(text, b.cols("device", "id", "onset", "end"), rows, id)
	return nil
}

// ---- Immunizations (2.15) ----

func (b *builder) immunizations(body *etree.Element) error {
	if len(b.s.Immunizations) == 0 {
		return nil
	}
	sec, text := b.section(body, []string{t("2.15"), "2.16.840.1.113883.10.20.1.6"}, "11369-6", "History of Immunization Narrative")
	id := func(i int) string { return "immunization-" + strconv.Itoa(i+1) }
	rows := make([][]string, 0, len(b.s.Immunizations))
	for i, im := range b.s.Immunizations {
		c, err := b.code(spec{"immunization/code", vsVaccine, terminology.UsageOptional}, im.Vaccine, im.Text)
		if err != nil {
			return err
		}
		sa := sec.CreateElement("entry").CreateElement("substanceAdministration")
		sa.CreateAttr("classCode", "SBADM")
		sa.CreateAttr("moodCode", "EVN")
		sa.CreateAttr("negationInd", "false")
		templates(sa, t("3.19"), "1.3.6.1.4.1.19376.1.5.3.1.4.12", "2.16.840.1.113883.10.20.1.24")
		b.entryID(sa, "im", i)
		cda.AppendCoded(sa, "code", cda.MVCOnly(Coding{Code: "IMMUNIZ", System: "1.3.5.1.4.1.19376.1.5.3.2", Display: "Immunization"}))
		ref(sa, id(i))
		status(sa, "completed")
		ts(sa, "effectiveTime", im.Date)
		cs := sa.CreateElement("consumable")
		cs.CreateAttr("typeCode", "CSM")
		mp := cs.CreateElement("manufacturedProduct")
		mp.CreateAttr("classCode", "MANU")
		templates(mp, t("3.18"), "2.16.840.1.113883.10.20.1.53")
		mm := mp.CreateElement("manufacturedMaterial")
		mm.CreateAttr("classCode", "MMAT")
		mm.CreateAttr("determinerCode", "KIND")
		cda.AppendCoded(mm, "code", c)
		name := im.Name
		if name == "" {
			name = display(im.Text, im.Vaccine, c)
		}
		mm.CreateElement("name").SetText(name)
		dose := ""
		if im.Dose > 0 {
			dose = strconv.Itoa(im.Dose)
			o := subj(sa, "SUBJ", "")
			templates(o, t("3.28"))
			cda.AppendCoded(o, "code", cda.MVCOnly(Coding{Code: "30973-2", System: OIDLOINC, Display: "Dose number"}))
			status(o, "completed")
			v := o.CreateElement("value")
			v.CreateAttr("xsi:type", "INT")
			v.CreateAttr("value", dose)
		}
		rows = append(rows, []string{display(im.Text, im.Vaccine, c), im.Name, dose, b.l.date(im.Date)})
	}
	b.table(text, b.cols("vaccine", "product", "doseNumber", "date"), rows, id)
	return nil
}

// ---- narrative-only and observation sections ----

func (b *builder) functional(body *etree.Element) error {
	if len(b.s.Functional) == 0 {
		return nil
	}
	_, text := b.section(body, []string{t("2.14")}, "47420-5", "Functional status assessment note")
	b.observationTable(text, b.s.Functional, "functional")
	return nil
}

func (b *builder) observationTable(text *etree.Element, obs []Observation, prefix string) {
	rows := make([][]string, 0, len(obs))
	for _, o := range obs {
		rows = append(rows, []string{display(o.Text, o.Code, cda.Coded{}), b.valueText(o), b.l.date(o.Date)})
	}
	b.table(text, b.cols("observation", "value", "date"), rows, func(i int) string { return prefix + "-" + strconv.Itoa(i+1) })
}

func (b *builder) valueText(o Observation) string {
	switch {
	case o.IsQuantity || o.Unit != "":
		u := o.Unit
		if u == "1" {
			u = ""
		}
		return strings.TrimSpace(num(o.Value) + " " + u)
	case o.Coded.Code != "":
		if o.Coded.Display != "" {
			return o.Coded.Display
		}
		return o.Coded.Code
	}
	return o.String
}

// obsValue writes an observation value: PQ, CD or ST.
func (b *builder) obsValue(el *etree.Element, o Observation, c *cda.Coded) {
	switch {
	case o.IsQuantity || o.Unit != "":
		v := el.CreateElement("value")
		v.CreateAttr("xsi:type", "PQ")
		v.CreateAttr("value", num(o.Value))
		u := o.Unit
		if u == "" {
			u = "1"
		}
		v.CreateAttr("unit", u)
	case c != nil:
		coded(el, "value", "CD", *c)
	default:
		v := el.CreateElement("value")
		v.CreateAttr("xsi:type", "ST")
		v.SetText(o.String)
	}
}

func (b *builder) social(body *etree.Element) error {
	if len(b.s.Social) == 0 {
		return nil
	}
	sec, text := b.section(body, []string{t("2.13"), "2.16.840.1.113883.10.20.1.15"}, "29762-2", "Social history Narrative")
	b.observationTable(text, b.s.Social, "social")
	for i, so := range b.s.Social {
		c, err := b.code(spec{"social/code", vsSocialHistory, terminology.UsageOptional}, so.Code, so.Text)
		if err != nil {
			return err
		}
		if c.Null != "" {
			continue // narrative only: the entry code must come from eHDSISocialHistory
		}
		o := sec.CreateElement("entry").CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		templates(o, t("3.23"), t("3.20"), "1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.3.6.1.4.1.19376.1.5.3.1.4.13.4", "2.16.840.1.113883.10.20.1.33")
		b.entryID(o, "sh", i)
		cda.AppendCoded(o, "code", c)
		ref(o, "social-"+strconv.Itoa(i+1))
		status(o, "completed")
		ivl(o, "effectiveTime", so.Date, so.End, false)
		var vc *cda.Coded
		if so.Coded.Code != "" {
			x, _ := b.code(spec{"social/value", "", terminology.UsageOptional}, so.Coded, "")
			if x.Null != "" {
				x = cda.MVCOnly(so.Coded)
			}
			vc = &x
		}
		b.obsValue(o, so, vc)
	}
	return nil
}

func (b *builder) pregnancy(body *etree.Element) error {
	p := b.s.Pregnancy
	if p == nil {
		return nil
	}
	sec, text := b.section(body, []string{t("2.7")}, "10162-6", "History of pregnancies Narrative")
	sc, err := b.code(spec{"pregnancy/status", vsPregnancyStatus, terminology.UsageOptional}, p.Status, "")
	if err != nil {
		return err
	}
	rows := [][]string{{display("", p.Status, sc), b.l.date(p.ExpectedBirth), b.l.date(p.Observed)}}
	b.table(text, b.cols("pregnancy", "edd", "date"), rows, func(int) string { return "pregnancy-1" })
	en := sec.CreateElement("entry")
	en.CreateAttr("typeCode", "COMP")
	o := en.CreateElement("observation")
	o.CreateAttr("classCode", "OBS")
	o.CreateAttr("moodCode", "EVN")
	templates(o, t("3.45"))
	b.entryID(o, "pg", 0)
	cda.AppendCoded(o, "code", cda.MVCOnly(Coding{Code: "82810-3", System: OIDLOINC, Display: "Pregnancy status"}))
	ref(o, "pregnancy-1")
	status(o, "completed")
	ts(o, "effectiveTime", p.Observed)
	coded(o, "value", "CE", sc)
	if p.ExpectedBirth != "" {
		er := o.CreateElement("entryRelationship")
		er.CreateAttr("typeCode", "COMP")
		e := er.CreateElement("observation")
		e.CreateAttr("classCode", "OBS")
		e.CreateAttr("moodCode", "EVN")
		templates(e, t("3.24"), t("3.20"), "1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.3.6.1.4.1.19376.1.5.3.1.4.13.5")
		b.entryID(e, "pg", 0, 1)
		cda.AppendCoded(e, "code", cda.MVCOnly(Coding{Code: "11778-8", System: OIDLOINC, Display: "Delivery date Estimated"}))
		ref(e, "pregnancy-1")
		status(e, "completed")
		ts(e, "effectiveTime", p.Observed)
		v := e.CreateElement("value")
		v.CreateAttr("xsi:type", "TS")
		v.CreateAttr("value", cda.DateTS(p.ExpectedBirth))
	}
	if len(p.Outcomes) > 0 {
		orows := make([][]string, 0, len(p.Outcomes))
		for i, oc := range p.Outcomes {
			c, err := b.code(spec{"pregnancy/outcome", vsPregnancyOutcome, terminology.UsageOptional}, oc.Outcome, "")
			if err != nil {
				return err
			}
			orows = append(orows, []string{display("", oc.Outcome, c), strconv.Itoa(oc.Count)})
			if c.Null != "" {
				continue
			}
			en := sec.CreateElement("entry")
			en.CreateAttr("typeCode", "COMP")
			x := en.CreateElement("observation")
			x.CreateAttr("classCode", "OBS")
			x.CreateAttr("moodCode", "EVN")
			templates(x, t("3.46"))
			b.entryID(x, "pg", i+1)
			cda.AppendCoded(x, "code", c)
			ref(x, "pregnancy-outcome-"+strconv.Itoa(i+1))
			status(x, "completed")
			v := x.CreateElement("value")
			v.CreateAttr("xsi:type", "INT")
			v.CreateAttr("value", strconv.Itoa(oc.Count))
		}
		b.table(text, b.cols("outcome", "count"), orows, func(i int) string { return "pregnancy-outcome-" + strconv.Itoa(i+1) })
	}
	return nil
}

func (b *builder) vitalSigns(body *etree.Element) error {
	if len(b.s.VitalSigns) == 0 {
		return nil
	}
	sec, text := b.section(body, []string{t("2.6")}, "8716-3", "Vital signs")
	b.observationTable(text, b.s.VitalSigns, "vital")
	// Entries: eHDSI codes vital-sign observations only for blood pressure.
	var org *etree.Element
	for i, v := range b.s.VitalSigns {
		c, _ := b.code(spec{"vitalSigns/code", vsBloodPressure, terminology.UsageOptional}, v.Code, "")
		if c.Null != "" {
			continue
		}
		if org == nil {
			org = sec.CreateElement("entry").CreateElement("organizer")
			org.CreateAttr("classCode", "CLUSTER")
			org.CreateAttr("moodCode", "EVN")
			templates(org, t("3.21"), "1.3.6.1.4.1.19376.1.5.3.1.4.13.1", "2.16.840.1.113883.10.20.1.32", "2.16.840.1.113883.10.20.1.35")
			b.entryID(org, "vs", 0)
			cda.AppendCoded(org, "code", cda.MVCOnly(Coding{Code: "46680005", System: OIDSNOMED, Display: "Vital signs"}))
			status(org, "completed")
			ts(org, "effectiveTime", v.Date)
		}
		o := org.CreateElement("component").CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		templates(o, t("3.22"), t("3.20"), "1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.3.6.1.4.1.19376.1.5.3.1.4.13.2", "2.16.840.1.113883.10.20.1.31")
		b.entryID(o, "vs", 0, i+1)
		cda.AppendCoded(o, "code", c)
		ref(o, "vital-"+strconv.Itoa(i+1))
		status(o, "completed")
		ts(o, "effectiveTime", v.Date)
		b.obsValue(o, v, nil)
	}
	return nil
}

func (b *builder) results(body *etree.Element) error {
	if len(b.s.Results) == 0 {
		return nil
	}
	sec, text := b.section(body, []string{t("2.5")}, "30954-2", "Relevant diagnostic tests/laboratory data Narrative")
	b.observationTable(text, b.s.Results, "result")
	org := sec.CreateElement("entry").CreateElement("organizer")
	org.CreateAttr("classCode", "BATTERY")
	org.CreateAttr("moodCode", "EVN")
	templates(org, t("3.42"))
	b.entryID(org, "rs", 0)
	cda.AppendCoded(org, "code", cda.MVCOnly(Coding{Code: "26436-6", System: OIDLOINC, Display: "Laboratory studies (set)"}))
	status(org, "completed")
	for i, r := range b.s.Results {
		o := org.CreateElement("component").CreateElement("observation")
		o.CreateAttr("classCode", "OBS")
		o.CreateAttr("moodCode", "EVN")
		templates(o, t("3.43"), "1.3.6.1.4.1.19376.1.5.3.1.4.13")
		b.entryID(o, "rs", 0, i+1)
		cda.AppendCoded(o, "code", cda.MVCOnly(r.Code))
		ref(o, "result-"+strconv.Itoa(i+1))
		status(o, "completed")
		ts(o, "effectiveTime", r.Date)
		var vc *cda.Coded
		if r.Coded.Code != "" {
			x := cda.MVCOnly(r.Coded)
			vc = &x
		}
		b.obsValue(o, r, vc)
		if r.Interp != "" {
			cda.AppendCoded(o, "interpretationCode", cda.MVCOnly(Coding{Code: r.Interp, System: "2.16.840.1.113883.5.83", Display: interpDisplay[r.Interp]}))
		}
	}
	return nil
}

var interpDisplay = map[string]string{"N": "Normal", "H": "High", "L": "Low", "A": "Abnormal", "HH": "Critical high", "LL": "Critical low"}

func (b *builder) textSection(body *etree.Element, items []TextItem, tpls []string, code, disp, prefix string) {
	if len(items) == 0 {
		return
	}
	_, text := b.section(body, tpls, code, disp)
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, []string{it.Text, b.l.date(it.Date)})
	}
	b.table(text, b.cols("text", "date"), rows, func(i int) string { return prefix + "-" + strconv.Itoa(i+1) })
}

func (b *builder) carePlan(body *etree.Element) error {
	b.textSection(body, b.s.CarePlan, []string{t("2.8"), "2.16.840.1.113883.10.20.1.10"}, "18776-5", "Plan of care note", "careplan")
	return nil
}

func (b *builder) directives(body *etree.Element) error {
	b.textSection(body, b.s.Directives, []string{t("2.16")}, "42348-3", "Advance directives", "directive")
	return nil
}

// products is implemented by catalogues that know Luxembourg medicinal
// products (*terminology.Catalogue does): their ingredients and strengths.
type products interface {
	Product(luCode string) (terminology.Product, bool)
}

// productIngredients lists the active ingredients of a national product
// and its route: from the product catalogue when the terminology has one,
// else the product code itself (transcoded to its ATC code).
func (b *builder) productIngredients(p Coding) ([]Ingredient, Coding) {
	if prod, ok := b.product(p); ok {
		var out []Ingredient
		for _, in := range prod.Ingredients {
			ing := Ingredient{Substance: Coding{Code: in.ATC.Code, System: in.ATC.System, Display: in.Name}}
			if v, err := strconv.ParseFloat(in.Strength.Value, 64); err == nil && in.Strength.Unit != "" {
				ing.StrengthValue, ing.StrengthUnit = v, in.Strength.Unit
			}
			out = append(out, ing)
		}
		if len(out) == 0 {
			ing := Ingredient{Substance: p}
			if v, err := strconv.ParseFloat(prod.Strength.Value, 64); err == nil && prod.Strength.Unit != "" {
				ing.StrengthValue, ing.StrengthUnit = v, prod.Strength.Unit
			}
			out = append(out, ing)
		}
		return out, prod.Route
	}
	return []Ingredient{{Substance: p}}, Coding{}
}

func (b *builder) product(p Coding) (terminology.Product, bool) {
	if pc, ok := b.term.(products); ok && p.System == OIDLUProduct {
		return pc.Product(p.Code)
	}
	return terminology.Product{}, false
}

// completeStrengths fills the strengths a national medication leaves out
// from the product catalogue (matching ingredients by ATC code).
func (b *builder) completeStrengths(m Medicine) []Ingredient {
	ingr := append([]Ingredient(nil), m.Ingredients...)
	missing := false
	for _, in := range ingr {
		missing = missing || in.StrengthValue <= 0 || in.StrengthUnit == ""
	}
	if !missing {
		return ingr
	}
	if _, ok := b.product(m.Product); ok {
		cat, _ := b.productIngredients(m.Product)
		return cat // the catalogue knows every ingredient with its strength
	}
	cat, _ := b.productIngredients(m.Product)
	for i := range ingr {
		if ingr[i].StrengthValue > 0 && ingr[i].StrengthUnit != "" {
			continue
		}
		for _, c := range cat {
			if c.Substance.Code == ingr[i].Substance.Code || len(cat) == 1 && len(ingr) == 1 {
				ingr[i].StrengthValue, ingr[i].StrengthUnit = c.StrengthValue, c.StrengthUnit
				break
			}
		}
	}
	return ingr
}
