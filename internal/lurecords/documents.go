package lurecords

import (
	"context"
	"sort"
	"strings"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/cda/ps"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/xca"
)

// ---- ePrescriptions ----

func (p *Provider) epOptions(id cda.II, ref national.DocumentRef) cda.EPOptions {
	return cda.EPOptions{DocumentID: id, EffectiveTime: ref.Created, Custodian: p.Custodian, Terminology: p.Terminology}
}

func (p *Provider) listEP(ctx context.Context, q xca.Query) (xca.Listing, error) {
	refs, err := p.National.ListDocuments(ctx, q.Patient.Extension, ehdsi.ClassEP)
	if err != nil {
		return xca.Listing{}, unavailable(ehdsi.ClassEP, err)
	}
	var l xca.Listing
	for _, ref := range refs {
		bundle, _, err := p.National.Fetch(ctx, ref)
		if err != nil {
			return xca.Listing{}, unavailable(ehdsi.ClassEP, err)
		}
		sum, err := cda.Summarize(bundle, q.Now, nil)
		if err != nil {
			l.Notes = append(l.Notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.WarningEPGeneric,
				Public: "prescription " + ref.ID + " cannot be offered: it is incomplete in the national record", Location: ref.ID})
			continue
		}
		if !sum.Dispensable {
			l.Notes = append(l.Notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.WarningEPGeneric,
				Public: "prescription " + ref.ID + " (" + sum.Description + ") is not dispensable: " + sum.Why(), Location: ref.ID})
			continue
		}
		l3id := cda.II{Root: RootEP, Extension: ref.ID + ".L3"}
		l1id := cda.II{Root: RootEP, Extension: ref.ID + ".L1"}
		l3, err := cda.BuildEP(bundle, p.epOptions(l3id, ref))
		if err != nil {
			l.Notes = append(l.Notes, noteFor(ehdsi.ClassEP, ref.ID, err))
			continue
		}
		l1, err := cda.BuildEPL1(bundle, p.epOptions(l1id, ref))
		if err != nil {
			l.Notes = append(l.Notes, noteFor(ehdsi.ClassEP, ref.ID, err))
			continue
		}
		e3 := p.entry(q, ehdsi.ClassEP, xca.L3, l3id, l3, sum.Created, "ePrescription", sum.Description, sum.Author)
		e1 := p.entry(q, ehdsi.ClassEP, xca.L1, l1id, l1, sum.Created, "ePrescription (PDF)", sum.Description, sum.Author)
		e1.TransformOf = e3.UniqueID
		l.Entries = append(l.Entries, e3, e1)
	}
	return l, nil
}

// noteFor explains a document that could not be built.
func noteFor(class, id string, err error) *ehdsi.Fault {
	f := transformFault(class, err).(*ehdsi.Fault)
	f.Location = id
	return f
}

func (p *Provider) findRef(ctx context.Context, matricule, class, natID string) (national.DocumentRef, error) {
	refs, err := p.National.ListDocuments(ctx, matricule, class)
	if err != nil {
		return national.DocumentRef{}, unavailable(class, err)
	}
	for _, r := range refs {
		if r.ID == natID {
			return r, nil
		}
	}
	return national.DocumentRef{}, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
}

func (p *Provider) buildEP(ctx context.Context, matricule, ext string) ([]byte, error) {
	natID, level, ok := cutLevel(ext)
	if !ok {
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	}
	ref, err := p.findRef(ctx, matricule, ehdsi.ClassEP, natID)
	if err != nil {
		return nil, err
	}
	bundle, _, err := p.National.Fetch(ctx, ref)
	if err != nil {
		return nil, unavailable(ehdsi.ClassEP, err)
	}
	opts := p.epOptions(cda.II{Root: RootEP, Extension: ext}, ref)
	var b []byte
	if level == "L1" {
		b, err = cda.BuildEPL1(bundle, opts)
	} else {
		b, err = cda.BuildEP(bundle, opts)
	}
	if err != nil {
		return nil, transformFault(ehdsi.ClassEP, err)
	}
	return b, nil
}

func cutLevel(ext string) (base, level string, ok bool) {
	i := strings.LastIndexByte(ext, '.')
	if i <= 0 {
		return "", "", false
	}
	base, level = ext[:i], ext[i+1:]
	return base, level, level == "L3" || level == "L1"
}

// ---- Patient Summaries ----

// psSource reads the most recent national PS of a patient.
func (p *Provider) readPS(ctx context.Context, matricule string) (*ps.Summary, error) {
	refs, err := p.National.ListDocuments(ctx, matricule, ehdsi.ClassPS)
	if err != nil {
		return nil, unavailable(ehdsi.ClassPS, err)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Created.After(refs[j].Created) })
	ref := refs[0]
	data, ctype, err := p.National.Fetch(ctx, ref)
	if err != nil {
		return nil, unavailable(ehdsi.ClassPS, err)
	}
	var s *ps.Summary
	if strings.Contains(ctype, "json") {
		s, err = ps.ReadFHIR(data, ps.Limits{})
	} else {
		s, err = ps.ReadLUCDA(data, ps.Limits{})
	}
	if err != nil {
		return nil, ehdsi.App(ehdsi.ErrPSGeneric, "the national Patient Summary cannot be read", err)
	}
	return s, nil
}

func (p *Provider) psOptions() ps.Options {
	return ps.Options{Terminology: p.Terminology, Custodian: p.Custodian}
}

func (p *Provider) listPS(ctx context.Context, q xca.Query) (xca.Listing, error) {
	s, err := p.readPS(ctx, q.Patient.Extension)
	if err != nil {
		return xca.Listing{}, err
	}
	if s == nil {
		return xca.Listing{}, nil
	}
	l3, err := ps.Build(s, p.psOptions())
	if err != nil {
		return xca.Listing{Notes: []*ehdsi.Fault{noteFor(ehdsi.ClassPS, "PS", err)}}, nil
	}
	l1, err := ps.BuildL1(s, p.psOptions())
	if err != nil {
		return xca.Listing{Notes: []*ehdsi.Fault{noteFor(ehdsi.ClassPS, "PS", err)}}, nil
	}
	e3 := p.entry(q, ehdsi.ClassPS, xca.L3, l3.ID, l3.XML, l3.Created, "Patient Summary", l3.Title, "")
	e1 := p.entry(q, ehdsi.ClassPS, xca.L1, l1.ID, l1.XML, l1.Created, "Patient Summary (PDF)", l1.Title, "")
	e1.TransformOf = e3.UniqueID
	return xca.Listing{Entries: []xca.Entry{e3, e1}}, nil
}

func (p *Provider) buildPS(ctx context.Context, matricule, ext string) ([]byte, error) {
	s, err := p.readPS(ctx, matricule)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	}
	build := ps.Build
	if strings.HasSuffix(ext, "L1") {
		build = ps.BuildL1
	}
	d, err := build(s, p.psOptions())
	if err != nil {
		return nil, transformFault(ehdsi.ClassPS, err)
	}
	if d.ID.Extension != ext {
		// The national PS changed since it was listed.
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, "the Patient Summary was updated since it was listed; query again", nil)
	}
	return d.XML, nil
}
