package render

import (
	"strings"

	"github.com/beevik/etree"
)

// itemView is what a pharmacist needs of one prescribed item, read from
// its coded entry (the narrative may be no more than a barcode): the
// product, strength, dose form, dose and frequency, route, quantity to
// dispense with the pack size, the validity period and whether
// substitution is allowed. Current eHDSI (pharm:) and pre-2022 epSOS
// (epsos:) medication elements are read alike.
type itemView struct {
	Rows []itemRow
}

// itemRow is one line of a prescribed item; Note and Status mark a coded
// term shown in English or as received, as the coded entries do.
type itemRow struct {
	Label, Value, Note, Status string
}

// itemTerm is a coded element of the item in the reader's language. The
// same element is counted (and marked) once among the coded entries of its
// section, so it is not counted again here; a term not in the reader's
// language carries the same note.
func (r *Renderer) itemTerm(el *etree.Element, lang string, v *view) (termView, bool) {
	scratch := view{L: v.L}
	return r.term(el, "", lang, &scratch)
}

func first(el *etree.Element, paths ...string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, p := range paths {
		if e := el.FindElement(p); e != nil {
			return e
		}
	}
	return nil
}

// quantity shows a PQ as the reader writes it: "2,5 mg" in German and
// French (formatNumber), the UCUM unit as sent.
func quantity(el *etree.Element, lang string) string {
	if el == nil {
		return ""
	}
	v, u := attr(el, "value"), attr(el, "unit")
	if v == "" {
		return ""
	}
	v = formatNumber(v, lang)
	if u == "" || u == "1" {
		return v
	}
	return v + " " + u
}

func (r *Renderer) prescribedItem(sa *etree.Element, lang string, v *view) (itemView, bool) {
	mm := first(sa, "./consumable/manufacturedProduct/manufacturedMaterial")
	if mm == nil {
		return itemView{}, false
	}
	L := v.L
	var it itemView
	row := func(label, value string) {
		if strings.TrimSpace(value) != "" {
			it.Rows = append(it.Rows, itemRow{Label: label, Value: value})
		}
	}
	termRow := func(label string, t termView, value string) {
		if strings.TrimSpace(value) != "" {
			it.Rows = append(it.Rows, itemRow{Label: label, Value: value, Note: t.Note, Status: t.Status})
		}
	}
	row(L.Product, text(child(mm, "name")))
	// Every active ingredient, one line each: a combination product shown
	// with its first strength only reads as the single-substance product.
	for _, ing := range mm.FindElements("./ingredient") {
		if cc := attr(ing, "classCode"); cc != "" && !strings.HasPrefix(cc, "ACTI") {
			continue
		}
		sub := first(ing, "./ingredientSubstance/code", "./ingredient/code")
		t, _ := r.itemTerm(sub, lang, v)
		num, den := quantity(first(ing, "./quantity/numerator"), lang), quantity(first(ing, "./quantity/denominator"), lang)
		s := num
		if den != "" && den != "1" {
			s += " / " + den
		}
		termRow(L.Strength, t, strings.TrimSpace(t.Text+" "+s))
	}
	if t, ok := r.itemTerm(child(mm, "formCode"), lang, v); ok {
		termRow(L.DoseForm, t, t.Text)
	}
	dose := ""
	if dq := child(sa, "doseQuantity"); dq != nil {
		lo, hi := quantity(child(dq, "low"), lang), quantity(child(dq, "high"), lang)
		switch {
		case lo != "" && hi != "" && lo != hi:
			dose = lo + "–" + hi
		case lo != "":
			dose = lo
		default:
			dose = quantity(dq, lang)
		}
	}
	var validity string
	for _, et := range sa.SelectElements("effectiveTime") {
		if p := child(et, "period"); p != nil {
			if dose != "" {
				dose += " · "
			}
			dose += every(attr(p, "value"), attr(p, "unit"), lang, L)
		}
		if lo, hi := child(et, "low"), child(et, "high"); lo != nil || hi != nil {
			a, b := formatDate(attr(lo, "value"), lang), formatDate(attr(hi, "value"), lang)
			switch {
			case a != "" && b != "":
				validity = a + " – " + b
			case a != "":
				validity = L.From + " " + a
			case b != "":
				validity = L.Until + " " + b
			}
		}
	}
	row(L.Dose, dose)
	if t, ok := r.itemTerm(child(sa, "routeCode"), lang, v); ok {
		termRow(L.Route, t, t.Text)
	}
	pack := ""
	for _, p := range []string{"./asContent/quantity", "./asContent/quantity/numerator", "./asContent/containerPackagedProduct/capacityQuantity",
		"./asContent/containerPackagedMedicine/capacityQuantity"} {
		if pack = quantity(first(mm, p), lang); pack != "" {
			break
		}
	}
	for _, er := range sa.SelectElements("entryRelationship") {
		if sup := child(er, "supply"); sup != nil {
			if q := quantity(child(sup, "quantity"), lang); q != "" {
				s := q + " " + L.Packs
				if pack != "" {
					s += " × " + pack
				}
				row(L.Quantity, s)
				pack = ""
			}
		}
		if obs := child(er, "observation"); obs != nil && attr(child(obs, "code"), "code") == "SUBST" {
			row(L.Substitution, substitution(attr(child(obs, "value"), "code"), L))
		}
	}
	row(L.PackSize, pack)
	row(L.Validity, validity)
	return it, len(it.Rows) > 0
}

// substitution says whether the prescriber allows substitution, from the
// eHDSISubstitutionCode (HL7 ActSubstanceAdminSubstitutionCode) of the
// SUBST observation: "N" forbids it, a substitution kind (G, TE and the
// other HL7 kinds) allows it. A value without a code (a nullFlavor) or a
// code outside HL7's list is "not stated", never "allowed": a pharmacist
// must not read permission into an unknown.
func substitution(code string, L labels) string {
	switch code {
	case "N":
		return L.SubstNo
	case "G", "TE", "E", "EC", "BC", "TB", "TG", "F":
		return L.SubstYes
	case "":
		return L.SubstUnknown
	}
	return L.SubstUnknown + " (" + code + ")"
}

// every is a PIVL period in words: "alle 8 Stunden", and for a period of
// one "jeden Tag" / "tous les jours" / "every day", not "alle 1 Tage".
func every(value, unit, lang string, L labels) string {
	if value == "1" {
		if s := L.EveryOne[unit]; s != "" {
			return s
		}
	}
	return L.Every + " " + formatNumber(value, lang) + " " + unitName(unit, L)
}

func unitName(u string, L labels) string {
	switch u {
	case "h":
		return L.Hours
	case "d":
		return L.Days
	case "wk":
		return L.Weeks
	}
	return u
}
