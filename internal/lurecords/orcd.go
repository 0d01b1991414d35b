package lurecords

import (
	"context"
	"errors"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/cda/orcd"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/xca"
)

// orcdRoots give each original clinical document class its own id root, so
// that a unique id tells its class before anything is fetched.
var orcdRoots = map[string]string{
	ehdsi.ClassLab:       RootORCD + ".1",
	ehdsi.ClassDischarge: RootORCD + ".2",
	ehdsi.ClassImaging:   RootORCD + ".3",
}

func orcdClassOf(root string) string {
	for class, r := range orcdRoots {
		if r == root {
			return class
		}
	}
	return ""
}

// patient reads the patient's demographics for document headers.
func (p *Provider) patient(ctx context.Context, matricule string) (cda.Patient, error) {
	ps, err := p.National.FindPatients(ctx, national.PatientQuery{Matricule: matricule})
	if err != nil {
		return cda.Patient{}, err
	}
	if len(ps) != 1 {
		return cda.Patient{}, errors.New("patient not found in the national record")
	}
	n := ps[0]
	return cda.Patient{
		IDs:    []cda.II{{Root: ehdsi.OIDMatricule, Extension: n.Matricule}},
		Name:   cda.Name{Given: n.Given, Family: n.Family},
		Gender: n.Gender, Birth: n.BirthDate,
		Addr: cda.Address{Lines: n.Address.Lines, City: n.Address.City, PostalCode: n.Address.PostalCode, Country: n.Address.Country},
	}, nil
}

type builtORCD struct {
	ref national.DocumentRef
	doc *orcd.Document
}

// orcdDocs builds every original clinical document of one class.
func (p *Provider) orcdDocs(ctx context.Context, matricule, class string) ([]builtORCD, []*ehdsi.Fault, error) {
	refs, err := p.National.ListDocuments(ctx, matricule, class)
	if err != nil {
		return nil, nil, unavailable(class, err)
	}
	if len(refs) == 0 {
		return nil, nil, nil
	}
	pt, err := p.patient(ctx, matricule)
	if err != nil {
		return nil, nil, unavailable(class, err)
	}
	var out []builtORCD
	var notes []*ehdsi.Fault
	for _, ref := range refs {
		pdf, _, err := p.National.Fetch(ctx, ref)
		if err != nil {
			return nil, nil, unavailable(class, err)
		}
		d, err := orcd.Build(orcd.Input{ClassCode: class, Title: ref.Title, Created: ref.Created, Patient: pt, AuthorName: ref.Author,
			Custodian: p.Custodian, Source: cda.II{Root: ehdsi.HomeCommunityLU + ".200", Extension: ref.ID}, PDF: pdf},
			orcd.Options{Terminology: p.Terminology, IDRoot: orcdRoots[class], Custodian: p.Custodian})
		if err != nil {
			notes = append(notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.ErrORCDGeneric, Public: "document " + ref.ID + " cannot be offered", Location: ref.ID, Cause: err})
			continue
		}
		out = append(out, builtORCD{ref: ref, doc: d})
	}
	return out, notes, nil
}

func (p *Provider) listORCD(ctx context.Context, q xca.Query, class string) (xca.Listing, error) {
	docs, notes, err := p.orcdDocs(ctx, q.Patient.Extension, class)
	if err != nil {
		return xca.Listing{}, err
	}
	l := xca.Listing{Notes: notes}
	for _, b := range docs {
		e := p.entry(q, class, xca.L1, b.doc.ID, newBuiltDoc(b.doc.XML), b.ref.Created, b.doc.Title, b.ref.Title, b.ref.Author)
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

func (p *Provider) buildORCD(ctx context.Context, matricule, class, uid string) ([]byte, error) {
	docs, _, err := p.orcdDocs(ctx, matricule, class)
	if err != nil {
		return nil, err
	}
	for _, b := range docs {
		if uniqueID(b.doc.ID) == uid {
			return b.doc.XML, nil
		}
	}
	return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
}
