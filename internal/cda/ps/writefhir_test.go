package ps

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/luxncp/luxncp/internal/cda"
)

// writeFHIR writes s as an HL7 Europe / IPS FHIR R4 document Bundle (the
// national FHIR fixtures); ReadFHIR reads it back.
func writeFHIR(s *Summary) []byte {
	w := &fhirWriter{seed: s.Patient.IDs[0].Extension}
	type M = map[string]any
	oidSys := map[string]string{}
	for uri, oid := range fhirSystems {
		oidSys[oid] = uri
	}
	sys := func(oid string) string {
		if u, ok := oidSys[oid]; ok {
			return u
		}
		return "urn:oid:" + oid
	}
	cc := func(c Coding, text string) M {
		m := M{"coding": []M{{"system": sys(c.System), "code": c.Code, "display": c.Display}}}
		if text != "" {
			m["text"] = text
		}
		return m
	}
	ref := func(u string) M { return M{"reference": u} }
	telecoms := func(ts []cda.Telecom) []M {
		var out []M
		for _, t := range ts {
			m := M{}
			switch {
			case strings.HasPrefix(t.Value, "tel:"):
				m["system"], m["value"] = "phone", strings.TrimPrefix(t.Value, "tel:")
			case strings.HasPrefix(t.Value, "mailto:"):
				m["system"], m["value"] = "email", strings.TrimPrefix(t.Value, "mailto:")
			default:
				continue
			}
			if u := map[string]string{"HP": "home", "WP": "work", "MC": "mobile"}[t.Use]; u != "" {
				m["use"] = u
			}
			out = append(out, m)
		}
		return out
	}
	addr := func(a cda.Address) []M {
		if a.IsZero() {
			return nil
		}
		return []M{{"line": a.Lines, "city": a.City, "postalCode": a.PostalCode, "country": a.Country}}
	}
	name := func(n cda.Name) []M {
		m := M{"family": n.Family, "given": n.Given}
		if len(n.Prefix) > 0 {
			m["prefix"] = n.Prefix
		}
		return []M{m}
	}
	idents := func(ids []cda.II) []M {
		var out []M
		for _, id := range ids {
			out = append(out, M{"system": "urn:oid:" + id.Root, "value": id.Extension})
		}
		return out
	}
	patURL := w.add(M{"resourceType": "Patient", "identifier": idents(s.Patient.IDs), "name": name(s.Patient.Name),
		"gender": s.Patient.Gender, "birthDate": s.Patient.Birth, "address": addr(s.Patient.Addr), "telecom": telecoms(s.Patient.Telecoms)})
	if c := s.Contact; c != nil {
		p := w.res[0]
		ct := M{"name": name(c.Name)[0], "telecom": telecoms(c.Telecoms)}
		if c.Relationship.Code != "" {
			ct["relationship"] = []M{cc(c.Relationship, "")}
		}
		if a := addr(c.Addr); a != nil {
			ct["address"] = a[0]
		}
		p["contact"] = []M{ct}
	}
	orgURL := w.add(M{"resourceType": "Organization", "identifier": idents(s.Author.Organization.IDs), "name": s.Author.Organization.Name,
		"telecom": telecoms(s.Author.Organization.Telecoms), "address": addr(s.Author.Organization.Addr)})
	pracURL := w.add(M{"resourceType": "Practitioner", "identifier": idents(s.Author.IDs), "name": name(s.Author.Name),
		"telecom": telecoms(s.Author.Telecoms), "address": addr(s.Author.Addr)})
	roleURL := w.add(M{"resourceType": "PractitionerRole", "practitioner": ref(pracURL), "organization": ref(orgURL),
		"code": []M{cc(s.Author.Function, "")}})
	custURL := orgURL
	if s.Custodian.Name != "" && s.Custodian.Name != s.Author.Organization.Name {
		custURL = w.add(M{"resourceType": "Organization", "identifier": idents(s.Custodian.IDs), "name": s.Custodian.Name,
			"telecom": telecoms(s.Custodian.Telecoms), "address": addr(s.Custodian.Addr)})
	}
	subj := ref(patURL)
	absentCC := func(code string) M {
		return M{"coding": []M{{"system": "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips", "code": code, "display": absentDisplay[code]}}}
	}
	var sections []M
	sec := func(code, title string, entries []string) {
		if len(entries) == 0 {
			return
		}
		var refs []M
		for _, e := range entries {
			refs = append(refs, ref(e))
		}
		sections = append(sections, M{"title": title, "code": M{"coding": []M{{"system": "http://loinc.org", "code": code}}}, "entry": refs})
	}
	// allergies
	var al []string
	for _, a := range s.Allergies {
		m := M{"resourceType": "AllergyIntolerance", "patient": subj, "code": cc(a.Agent, a.Text),
			"clinicalStatus": M{"coding": []M{{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": a.Status}}}}
		if a.Certainty != "" {
			m["verificationStatus"] = M{"coding": []M{{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": a.Certainty}}}
		}
		if a.Type.Code == "782197009" {
			m["type"] = "intolerance"
		} else {
			m["type"] = "allergy"
		}
		if a.Agent.System == OIDATC {
			m["category"] = []string{"medication"}
		}
		if a.Criticality != "" {
			m["criticality"] = a.Criticality
		}
		if a.Onset != "" {
			m["onsetDateTime"] = a.Onset
		}
		if a.Reaction.Code != "" {
			rx := M{"manifestation": []M{cc(a.Reaction, "")}}
			for k, v := range severitySNOMED {
				if v.Code == a.Severity.Code {
					rx["severity"] = k
				}
			}
			m["reaction"] = []M{rx}
		}
		al = append(al, w.add(m))
	}
	if len(s.Allergies) == 0 {
		al = append(al, w.add(M{"resourceType": "AllergyIntolerance", "patient": subj, "code": absentCC(orDefault(s.AllergiesAbsent, NoAllergyInfo))}))
	}
	sec("48765-2", "Allergies et intolérances", al)
	// medications
	var md []string
	for _, m := range s.Medications {
		code := cc(m.Product, m.Name)
		med := M{"resourceType": "Medication", "code": code}
		if m.DoseForm.Code != "" {
			med["form"] = cc(m.DoseForm, "")
		}
		var ings []M
		for _, in := range m.Ingredients {
			ig := M{"itemCodeableConcept": cc(in.Substance, "")}
			if in.StrengthValue > 0 {
				ig["strength"] = M{"numerator": M{"value": in.StrengthValue, "unit": in.StrengthUnit, "system": "http://unitsofmeasure.org", "code": in.StrengthUnit},
					"denominator": M{"value": 1, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"}}
			}
			ings = append(ings, ig)
		}
		if ings != nil {
			med["ingredient"] = ings
		}
		medURL := w.add(med)
		st := M{"resourceType": "MedicationStatement", "status": "active", "subject": subj, "medicationReference": ref(medURL)}
		p := M{"start": m.Start}
		if m.End != "" {
			p["end"] = m.End
			st["status"] = "completed"
		}
		st["effectivePeriod"] = p
		dose := M{}
		if m.Route.Code != "" {
			dose["route"] = cc(m.Route, "")
		}
		if m.PeriodValue > 0 {
			dose["timing"] = M{"repeat": M{"frequency": 1, "period": m.PeriodValue, "periodUnit": m.PeriodUnit}}
		}
		if m.DoseValue > 0 {
			dose["doseAndRate"] = []M{{"doseQuantity": M{"value": m.DoseValue, "unit": m.DoseUnit, "system": "http://unitsofmeasure.org", "code": m.DoseUnit}}}
		}
		if len(dose) > 0 {
			st["dosage"] = []M{dose}
		}
		if m.Reason.Code != "" {
			st["reasonCode"] = []M{cc(m.Reason, "")}
		}
		md = append(md, w.add(st))
	}
	if len(s.Medications) == 0 {
		md = append(md, w.add(M{"resourceType": "MedicationStatement", "status": "active", "subject": subj,
			"medicationCodeableConcept": absentCC(orDefault(s.MedicationsAbs, NoMedicationInfo))}))
	}
	sec("10160-0", "Traitements en cours", md)
	cond := func(p Problem) string {
		m := M{"resourceType": "Condition", "subject": subj, "code": cc(p.Code, p.Text),
			"clinicalStatus": M{"coding": []M{{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": orDefault(p.Status, "active")}}}}
		if p.Onset != "" {
			m["onsetDateTime"] = p.Onset
		}
		if p.End != "" {
			m["abatementDateTime"] = p.End
		}
		return w.add(m)
	}
	var pb []string
	for _, p := range s.Problems {
		pb = append(pb, cond(p))
	}
	if len(s.Problems) == 0 {
		pb = append(pb, w.add(M{"resourceType": "Condition", "subject": subj, "code": absentCC(orDefault(s.ProblemsAbsent, NoProblemInfo))}))
	}
	sec("11450-4", "Problèmes actifs", pb)
	var hp []string
	for _, p := range s.PastIllnesses {
		hp = append(hp, cond(p))
	}
	sec("11348-0", "Antécédents médicaux", hp)
	var pr []string
	for _, p := range s.Procedures {
		pr = append(pr, w.add(M{"resourceType": "Procedure", "status": "completed", "subject": subj, "code": cc(p.Code, p.Text), "performedDateTime": p.Date}))
	}
	sec("47519-4", "Antécédents chirurgicaux", pr)
	var dv []string
	for _, d := range s.Devices {
		dev := M{"resourceType": "Device", "type": cc(d.Code, d.Text), "patient": subj}
		if d.ID != "" {
			dev["udiCarrier"] = []M{{"deviceIdentifier": d.ID}}
		}
		devURL := w.add(dev)
		p := M{"start": d.Start}
		if d.End != "" {
			p["end"] = d.End
		}
		dv = append(dv, w.add(M{"resourceType": "DeviceUseStatement", "status": "active", "subject": subj, "device": ref(devURL), "timingPeriod": p}))
	}
	sec("46264-8", "Dispositifs médicaux", dv)
	var im []string
	for _, i := range s.Immunizations {
		code := cc(i.Vaccine, i.Text)
		if i.Name != "" {
			code["text"] = i.Name
		}
		m := M{"resourceType": "Immunization", "status": "completed", "patient": subj, "vaccineCode": code, "occurrenceDateTime": i.Date}
		if i.Dose > 0 {
			m["protocolApplied"] = []M{{"doseNumberPositiveInt": i.Dose}}
		}
		im = append(im, w.add(m))
	}
	sec("11369-6", "Vaccinations", im)
	obs := func(o Observation, cat string) string {
		m := M{"resourceType": "Observation", "status": "final", "subject": subj, "code": cc(o.Code, o.Text)}
		if cat != "" {
			m["category"] = []M{{"coding": []M{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": cat}}}}
		}
		if o.End != "" {
			m["effectivePeriod"] = M{"start": o.Date, "end": o.End}
		} else {
			m["effectiveDateTime"] = o.Date
		}
		switch {
		case o.IsQuantity:
			m["valueQuantity"] = M{"value": o.Value, "unit": o.Unit, "system": "http://unitsofmeasure.org", "code": o.Unit}
		case o.Coded.Code != "":
			m["valueCodeableConcept"] = cc(o.Coded, "")
		default:
			m["valueString"] = o.String
		}
		if o.Interp != "" {
			m["interpretation"] = []M{{"coding": []M{{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": o.Interp}}}}
		}
		return w.add(m)
	}
	for _, g := range []struct {
		list        []Observation
		code, title string
		cat         string
	}{{s.VitalSigns, "8716-3", "Signes vitaux", "vital-signs"}, {s.Results, "30954-2", "Résultats", "laboratory"},
		{s.Social, "29762-2", "Mode de vie", "social-history"}, {s.Functional, "47420-5", "Statut fonctionnel", "survey"}} {
		var refs []string
		for _, o := range g.list {
			refs = append(refs, obs(o, g.cat))
		}
		sec(g.code, g.title, refs)
	}
	if p := s.Pregnancy; p != nil {
		var refs []string
		refs = append(refs, w.add(M{"resourceType": "Observation", "status": "final", "subject": subj,
			"code":              M{"coding": []M{{"system": "http://loinc.org", "code": "82810-3", "display": "Pregnancy status"}}},
			"effectiveDateTime": p.Observed, "valueCodeableConcept": cc(p.Status, "")}))
		if p.ExpectedBirth != "" {
			refs = append(refs, w.add(M{"resourceType": "Observation", "status": "final", "subject": subj,
				"code":              M{"coding": []M{{"system": "http://loinc.org", "code": "11778-8", "display": "Delivery date Estimated"}}},
				"effectiveDateTime": p.Observed, "valueDateTime": p.ExpectedBirth}))
		}
		for _, oc := range p.Outcomes {
			refs = append(refs, w.add(M{"resourceType": "Observation", "status": "final", "subject": subj, "code": cc(oc.Outcome, ""), "valueInteger": oc.Count}))
		}
		sec("10162-6", "Grossesses", refs)
	}
	var cp []string
	for _, it := range s.CarePlan {
		m := M{"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": subj, "description": it.Text}
		if it.Date != "" {
			m["period"] = M{"start": it.Date}
		}
		cp = append(cp, w.add(m))
	}
	sec("18776-5", "Plan de soins", cp)
	var ad []string
	for _, it := range s.Directives {
		m := M{"resourceType": "Consent", "status": "active", "patient": subj,
			"scope":      M{"coding": []M{{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "adr"}}},
			"category":   []M{{"coding": []M{{"system": "http://loinc.org", "code": "59284-0"}}}},
			"policyRule": M{"text": it.Text}}
		if it.Date != "" {
			m["dateTime"] = it.Date
		}
		ad = append(ad, w.add(m))
	}
	sec("42348-3", "Directives anticipées", ad)

	created := s.Created.Format("2006-01-02T15:04:05-07:00")
	comp := M{"resourceType": "Composition", "id": w.id(-1), "language": "fr-LU", "status": "final",
		"type":    M{"coding": []M{{"system": "http://loinc.org", "code": "60591-5", "display": "Patient summary Document"}}},
		"subject": subj, "date": created, "author": []M{ref(roleURL)}, "title": "Résumé patient", "custodian": ref(custURL), "section": sections}
	entries := []M{{"fullUrl": "urn:uuid:" + w.id(-1), "resource": comp}}
	for i, r := range w.res {
		entries = append(entries, M{"fullUrl": w.urls[i], "resource": r})
	}
	b := M{"resourceType": "Bundle", "id": "ps-" + w.seed, "language": "fr-LU", "type": "document", "timestamp": created,
		"identifier": M{"system": "urn:oid:" + s.Source.Root, "value": s.Source.Extension}, "entry": entries}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(out, '\n')
}

type fhirWriter struct {
	seed string
	res  []map[string]any
	urls []string
}

// id derives a stable UUID for the n-th resource of this patient.
func (w *fhirWriter) id(n int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", w.seed, n)))
	x := fmt.Sprintf("%x", h[:16])
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-8" + x[17:20] + "-" + x[20:32]
}

func (w *fhirWriter) add(r map[string]any) string {
	n := len(w.res)
	r["id"] = w.id(n)
	u := "urn:uuid:" + w.id(n)
	w.res = append(w.res, r)
	w.urls = append(w.urls, u)
	return u
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
