package ps

import (
	"strings"

	"github.com/luxncp/luxncp/internal/pdf"
)

// renderPDF renders the document header facts and the narrative the L3
// build collected as a PDF (deterministic: no dates but the document's).
func (b *builder) renderPDF() []byte {
	s := b.s
	fr := b.l == &labelsFR
	name := strings.TrimSpace(strings.Join(s.Patient.Name.Given, " ") + " " + s.Patient.Name.Family)
	lbl := func(f, e string) string {
		if fr {
			return f
		}
		return e
	}
	d := pdf.New(b.l.word("title")+" – "+name, b.l.word("title")+" – "+name+" – "+b.docID.Extension)
	d.Heading(1, b.l.word("title"))
	ids := make([]string, 0, len(s.Patient.IDs))
	for _, id := range s.Patient.IDs {
		ids = append(ids, id.Extension)
	}
	gender := map[string][2]string{"female": {"Féminin", "Female"}, "male": {"Masculin", "Male"}, "other": {"Autre", "Other"}}[s.Patient.Gender]
	addr := strings.Join(append(append([]string{}, s.Patient.Addr.Lines...), strings.TrimSpace(s.Patient.Addr.PostalCode+" "+s.Patient.Addr.City), s.Patient.Addr.Country), ", ")
	author := strings.TrimSpace(strings.Join(s.Author.Name.Given, " ") + " " + s.Author.Name.Family)
	if o := s.Author.Organization.Name; o != "" {
		author = joinNonEmpty(", ", author, o)
	}
	d.KeyValues([][2]string{
		{lbl("Patient", "Patient"), name},
		{lbl("Matricule", "National identifier"), strings.Join(ids, ", ")},
		{lbl("Date de naissance", "Date of birth"), b.l.date(s.Patient.Birth)},
		{lbl("Sexe", "Sex"), gender[map[bool]int{true: 0, false: 1}[fr]]},
		{lbl("Adresse", "Address"), addr},
		{lbl("Auteur", "Author"), author},
		{lbl("Date du document", "Document date"), b.l.date(b.time.Format("2006-01-02"))},
	})
	d.Rule()
	for _, sec := range b.narr {
		d.Heading(2, sec.title)
		for _, p := range sec.paras {
			d.Paragraph(p)
		}
		for _, t := range sec.tables {
			d.Table(t.headers, t.rows, nil)
		}
		d.Space(6)
	}
	return d.Bytes()
}
