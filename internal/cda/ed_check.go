package cda

import (
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// sameID reports whether an id from a foreign eDispensation names ours: the
// same root and extension, or our "root^extension" written as extension.
func sameID(foreign, ours II) bool {
	if foreign.Extension == "" || ours.Extension == "" {
		return foreign.Extension == "" && ours.Extension == "" && foreign.Root == ours.Root
	}
	if foreign.Extension == ours.Extension {
		return foreign.Root == ours.Root
	}
	return foreign.Extension == ours.Root+"^"+ours.Extension
}

// NoMatchingPrescription is the public reason of every "no prescription
// of this patient matches" refusal (4105): unknown, another patient's, or
// contradicted by the eDispensation's own references; the same words, so
// the answer reveals nothing.
const NoMatchingPrescription = "no ePrescription of this patient matches the eDispensation's references"

// Contradicts reports whether one of the eDispensation's prescription
// references claims to be a Luxembourg id but names neither p nor one of
// its items: an item id (or a prescription id) in the namespace of p's
// national ids (their root, also as "root^extension" in the extension)
// that is not p's, or a luxncp pivot eP id ("<prescription>[~<item>].L3"
// or ".L1") of another prescription or item. An eDispensation naming p by
// its document and another prescription's item by its item id is such a
// contradiction. References in a partner's own namespace are not claims
// about Luxembourg ids and are not judged here.
func (d *Dispensation) Contradicts(p *Prescription) bool {
	roots := map[string]bool{p.ID.Root: true}
	items := map[string]bool{}
	for _, it := range p.Items {
		roots[it.ID.Root] = true
		items[it.ID.Extension] = true
	}
	for _, ref := range d.PrescriptionRefs() {
		root, ext := ref.Root, ref.Extension
		if r, e, ok := strings.Cut(ext, "^"); ok {
			root, ext = r, e
		}
		if base, ok := strings.CutSuffix(ext, ".L3"); ok || strings.HasSuffix(ext, ".L1") {
			if !ok {
				base = strings.TrimSuffix(ext, ".L1")
			}
			presc, item, hasItem := strings.Cut(base, "~")
			if presc != p.ID.Extension || hasItem && !items[item] {
				return true
			}
			continue
		}
		if roots[root] && ext != p.ID.Extension && !items[ext] {
			return true
		}
	}
	return false
}

// Against checks the eDispensation against the national prescription it
// claims to dispense, as of now (dispensed as in Prescription.Summary): the
// patient must be the prescription's, every dispensed item must name an
// item of this prescription that is still dispensable, and a substitution
// is refused where the prescriber did not allow one. It returns, for each
// dispensed item, the index in p.Items of the item it fulfils. Errors are
// *EDError: 4105 (references contradicting each other, Contradicts),
// ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE (another patient's or another
// prescription), ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION (with the
// reason), ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED.
func (d *Dispensation) Against(p *Prescription, now time.Time, dispensed map[string]int) ([]int, error) {
	samePatient := false
	for _, a := range d.PatientIDs {
		for _, b := range p.Patient.IDs {
			if a == b {
				samePatient = true
			}
		}
	}
	if !samePatient {
		return nil, edErr(ehdsi.ErrEDPrescriptionNotIdentifiable, "the prescription is not one of this patient's")
	}
	if d.Contradicts(p) {
		return nil, edErr(ehdsi.ErrEPNotMatching, NoMatchingPrescription)
	}
	sum := p.Summary(now, dispensed)
	docLevel := false
	for _, id := range append(append([]II{}, d.OrderIDs...), d.ParentDocumentIDs...) {
		if sameID(id, p.ID) || id.Extension == EPDocumentID("", p.ID, "L3").Extension || id.Extension == EPDocumentID("", p.ID, "L1").Extension {
			docLevel = true
		}
		for _, it := range p.Items {
			if sameID(id, it.ID) {
				docLevel = true
			}
		}
	}
	out := make([]int, len(d.Items))
	for i, di := range d.Items {
		out[i] = -1
		for j, it := range p.Items {
			for _, ref := range di.PrescriptionItemIDs {
				if sameID(ref, it.ID) {
					out[i] = j
				}
			}
		}
		if out[i] < 0 && docLevel && len(p.Items) == 1 {
			out[i] = 0
		}
		if out[i] < 0 {
			return nil, edErr(ehdsi.ErrEDPrescriptionNotIdentifiable, "dispensed item %d names no item of the prescription", i+1)
		}
		is := sum.Items[out[i]]
		if !is.Dispensable {
			return nil, edErr(ehdsi.ErrEDNotDispensable, "the prescription cannot be dispensed: %s", is.Reason.Explain())
		}
		if di.Substituted && !p.Items[out[i]].SubstitutionAllowed {
			return nil, edErr(ehdsi.ErrEDSubstitutionNotAllowed, "the prescriber did not allow substitution of %s", strings.TrimSpace(p.Items[out[i]].Product.Name))
		}
		if err := sameProduct(di, p.Items[out[i]]); err != nil {
			return nil, err
		}
		if pk := p.Items[out[i]].Packages; pk > 0 && di.Quantity.Value > pk {
			return nil, edErr(ehdsi.ErrEDNotDispensable, "%s packages dispensed; the prescription allows %s per dispensation",
				Quantity{Value: di.Quantity.Value}.String(), Quantity{Value: pk}.String())
		}
		if di.Quantity.Value < 0 {
			return nil, edErr(ehdsi.ErrEDMissingRequiredFields, "dispensed item %d has a negative quantity", i+1)
		}
	}
	return out, nil
}

// sameProduct checks that the dispensed medicine is the prescribed one or an
// allowed substitution: the same Luxembourg product code, or the same
// active ingredient (ATC chemical substance) in the same dose form (EDQM,
// where both name one) and the same strength (where both give one,
// sameStrengths). A different active ingredient is refused whether or not
// a substitution is declared; so are another dose form and another
// strength (ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED).
func sameProduct(di DispensedItem, it Item) error {
	got, want := di.Product, it.Product
	if got.Code.Code != "" && got.Code.System == OIDLUProduct && got.Code.Code == want.Code.Code {
		return nil
	}
	name := strings.TrimSpace(want.Name)
	if got.ATC.Code == "" {
		return edErr(ehdsi.ErrEDMissingExpectedMapping, "the dispensed medicine has no ATC code, so it cannot be checked against the prescribed %s", name)
	}
	if want.ATC.Code == "" {
		return edErr(ehdsi.ErrEDPrescriptionNotIdentifiable, "the prescribed %s has no ATC code in the national record: only that product (Luxembourg product code %s) can be dispensed", name, want.Code.Code)
	}
	if !strings.EqualFold(got.ATC.Code, want.ATC.Code) {
		if di.Substituted {
			return edErr(ehdsi.ErrEDSubstitutionNotAllowed, "a substitute must have the prescribed active ingredient: ATC %s dispensed for %s (ATC %s)", got.ATC.Code, name, want.ATC.Code)
		}
		return edErr(ehdsi.ErrEDPrescriptionNotIdentifiable, "the dispensed medicine (ATC %s) is not the prescribed %s (ATC %s) and no substitution is declared", got.ATC.Code, name, want.ATC.Code)
	}
	if g, w := got.DoseForm.Code, want.DoseForm.Code; g != "" && w != "" && got.DoseForm.System == OIDEDQM && want.DoseForm.System == OIDEDQM && g != w {
		return edErr(ehdsi.ErrEDSubstitutionNotAllowed, "the dispensed dose form (EDQM %s) differs from the prescribed %s (EDQM %s)", g, name, w)
	}
	return sameStrengths(got, want)
}

// EPDocumentID is the id luxncp gives the pivot ePrescription of a national
// prescription: root (the NCP's OID, e.g. the home community id) and the
// prescription id with ".L3" or ".L1" appended. Against recognises it when a
// foreign eDispensation quotes it as parentDocument.
func EPDocumentID(root string, prescription II, level string) II {
	return II{Root: root, Extension: prescription.Extension + "." + level}
}
