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

// Against checks the eDispensation against the national prescription it
// claims to dispense, as of now (dispensed as in Prescription.Summary): the
// patient must be the prescription's, every dispensed item must name an
// item of this prescription that is still dispensable, and a substitution
// is refused where the prescriber did not allow one. It returns, for each
// dispensed item, the index in p.Items of the item it fulfils. Errors are
// *EDError: ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE (another patient's or
// another prescription), ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION (with the
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
	}
	return out, nil
}

// EPDocumentID is the id luxncp gives the pivot ePrescription of a national
// prescription: root (the NCP's OID, e.g. the home community id) and the
// prescription id with ".L3" or ".L1" appended. Against recognises it when a
// foreign eDispensation quotes it as parentDocument.
func EPDocumentID(root string, prescription II, level string) II {
	return II{Root: root, Extension: prescription.Extension + "." + level}
}
