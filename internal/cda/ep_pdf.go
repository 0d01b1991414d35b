package cda

import (
	"strconv"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/pdf"
)

// PrescriptionPDF renders the prescription as the PDF of the L1
// ePrescription (French labels with English in brackets, the national
// wording; codes as in the national record).
func PrescriptionPDF(p *Prescription, opts EPOptions) []byte {
	docID := opts.DocumentID.Root
	if opts.DocumentID.Extension != "" {
		docID += "^" + opts.DocumentID.Extension
	}
	d := pdf.New("Ordonnance / ePrescription "+p.ID.Extension, "Luxembourg ePrescription "+p.ID.Extension)
	d.Heading(1, "Ordonnance électronique / ePrescription (Luxembourg)")
	d.KeyValues([][2]string{
		{"N° d'ordonnance / Prescription id", p.ID.Extension},
		{"Date / Date", frDate(p.Authored)},
		{"Document", docID},
	})
	d.Rule()
	d.Heading(2, "Patient")
	d.KeyValues([][2]string{
		{"Nom / Name", fullName(p.Patient.Name)},
		{"Né(e) le / Date of birth", frDate(p.Patient.Birth)},
		{"Matricule", p.Matricule},
		{"Adresse / Address", addrLine(p.Patient.Addr)},
	})
	d.Heading(2, "Prescripteur / Prescriber")
	pr := p.Prescriber
	ids := make([]string, 0, len(pr.IDs))
	for _, id := range pr.IDs {
		ids = append(ids, id.Extension)
	}
	d.KeyValues([][2]string{
		{"Nom / Name", fullName(pr.Name)},
		{"Code médecin / Id", strings.Join(ids, ", ")},
		{"Organisation", pr.Organization.Name},
		{"Adresse / Address", addrLine(pr.Organization.Addr)},
	})
	d.Heading(2, "Médicaments / Medicines")
	items := renderable(p.Items)
	rows := make([][]string, 0, len(items))
	for i, it := range items {
		prod := it.Product.Name
		if it.Product.Code.Code != "" {
			prod += " (" + it.Product.Code.Code + ")"
		}
		if it.Product.ATC.Code != "" {
			prod += " ATC " + it.Product.ATC.Code
		}
		subst := "non / no"
		if it.SubstitutionAllowed {
			subst = "oui / yes"
		}
		valid := pdfPeriod(it.ValidFrom, it.ValidUntil)
		rows = append(rows, []string{
			strconv.Itoa(i + 1),
			prod,
			num(it.Packages) + " x " + it.Product.PackSize.String(),
			it.DosageText(),
			valid,
			strconv.Itoa(it.Repeats),
			subst,
		})
	}
	d.Table([]string{"#", "Produit / Product", "Quantité / Quantity", "Posologie / Dosage", "Validité / Valid", "Renouv. / Repeats", "Substitution"},
		rows, []float64{0.5, 4, 1.5, 3.5, 2, 1.2, 1.5})
	for i, it := range items {
		if it.PatientInstructions != "" {
			d.Paragraph(strconv.Itoa(i+1) + ". Instructions au patient / to the patient: " + it.PatientInstructions)
		}
		if it.PharmacistNote != "" {
			d.Paragraph(strconv.Itoa(i+1) + ". Note au pharmacien / to the pharmacist: " + it.PharmacistNote)
		}
	}
	return d.Bytes()
}

func fullName(n Name) string {
	return strings.TrimSpace(strings.Join(append(append(append([]string{}, n.Prefix...), n.Given...), n.Family), " "))
}

func addrLine(a Address) string {
	parts := append([]string{}, a.Lines...)
	cp := strings.TrimSpace(a.PostalCode + " " + a.City)
	if cp != "" {
		parts = append(parts, cp)
	}
	if a.Country != "" {
		parts = append(parts, a.Country)
	}
	return strings.Join(parts, ", ")
}

// frDate shows a FHIR date or dateTime as the French-speaking reader of
// the bilingual L1 expects it: 12/01/2026 (09:30 local time of the
// record when there is one), never a raw ISO timestamp.
func frDate(v string) string {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.Format("02/01/2006 15:04")
	}
	for _, l := range []string{"2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.Format(map[string]string{"2006-01-02": "02/01/2006", "2006-01": "01/2006", "2006": "2006"}[l])
		}
	}
	return v
}

func pdfPeriod(from, until string) string {
	switch {
	case from != "" && until != "":
		return frDate(from) + " – " + frDate(until)
	case from != "":
		return "≥ " + frDate(from)
	case until != "":
		return "≤ " + frDate(until)
	}
	return ""
}
