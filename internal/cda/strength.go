package cda

import (
	"math"
	"strings"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// ucum is the dimension and factor to its base unit of the UCUM units
// strengths are written in (mass, volume, amount of substance,
// international units); µg and mcg are the usual spellings of ug.
var ucum = map[string]struct {
	dim    string
	factor float64
}{
	"kg": {"g", 1e3}, "g": {"g", 1}, "mg": {"g", 1e-3}, "ug": {"g", 1e-6}, "µg": {"g", 1e-6}, "mcg": {"g", 1e-6}, "ng": {"g", 1e-9},
	"L": {"L", 1}, "l": {"L", 1}, "dL": {"L", 1e-1}, "cL": {"L", 1e-2}, "mL": {"L", 1e-3}, "ml": {"L", 1e-3}, "uL": {"L", 1e-6}, "µL": {"L", 1e-6},
	"mol": {"mol", 1}, "mmol": {"mol", 1e-3}, "umol": {"mol", 1e-6}, "µmol": {"mol", 1e-6},
	"[iU]": {"[iU]", 1}, "[IU]": {"[iU]", 1}, "IU": {"[iU]", 1}, "k[iU]": {"[iU]", 1e3}, "k[IU]": {"[iU]", 1e3}, "M[iU]": {"[iU]", 1e6}, "M[IU]": {"[iU]", 1e6},
}

// base is q in its dimension's base unit. Countable units ("1", "",
// annotations such as {tablet}) are the dimension "1"; a unit luxncp does
// not know is its own dimension.
func base(q Quantity) (float64, string) {
	u := strings.TrimSpace(q.Unit)
	if u == "" || u == "1" || strings.HasPrefix(u, "{") && strings.HasSuffix(u, "}") {
		return q.Value, "1"
	}
	if f, ok := ucum[u]; ok {
		return q.Value * f.factor, f.dim
	}
	return q.Value, u
}

// sameStrength reports whether a per ap and b per bp are the same
// strength once the units are normalised (20 mg per 1 = 0.02 g per 1 =
// 20000 ug per 1; 100 mg per 5 mL = 20 mg per mL).
func sameStrength(a, ap, b, bp Quantity) bool {
	av, ad := base(a)
	apv, apd := base(ap)
	bv, bd := base(b)
	bpv, bpd := base(bp)
	if ad != bd || apd != bpd || apv == 0 || bpv == 0 {
		return false
	}
	x, y := av/apv, bv/bpv
	return math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
}

// sameStrengths checks the dispensed strengths against the prescribed
// ones: each dispensed active ingredient with a strength must have the
// strength of the prescribed ingredient with the same code (of any
// prescribed ingredient when none has its code). An eDispensation without
// strengths, or a prescription without, is not checked: strength is
// optional in many partners' eDispensations.
func sameStrengths(got DispensedProduct, want Product) error {
	var prescribed []Ingredient
	for _, in := range want.Ingredients {
		if in.Strength.Value > 0 {
			prescribed = append(prescribed, in)
		}
	}
	if len(prescribed) == 0 {
		return nil
	}
	for _, g := range got.Ingredients {
		if g.Strength.Value <= 0 {
			continue
		}
		cands := prescribed
		if g.Code.Code != "" {
			var same []Ingredient
			for _, w := range prescribed {
				if strings.EqualFold(w.Code.Code, g.Code.Code) {
					same = append(same, w)
				}
			}
			if len(same) > 0 {
				cands = same
			}
		}
		match := false
		for _, w := range cands {
			match = match || sameStrength(g.Strength, g.Per, w.Strength, w.Per)
		}
		if !match {
			var ws []string
			for _, w := range cands {
				ws = append(ws, w.strength())
			}
			return edErr(ehdsi.ErrEDSubstitutionNotAllowed, "the dispensed strength (%s) differs from the prescribed %s (%s)",
				g.strength(), strings.TrimSpace(want.Name), strings.Join(ws, ", "))
		}
	}
	return nil
}
