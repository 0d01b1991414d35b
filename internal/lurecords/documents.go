package lurecords

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/cda/ps"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/xca"
)

// ---- ePrescriptions ----

// prescription parses a national FHIR prescription bundle, cached by its
// bytes like the documents built from it (the eP list and each retrieve
// read the same bundle). The parse is pure and the result is shared
// read-only: Split copies, the builders and Summary only read it.
func (p *Provider) prescription(bundle []byte) (*cda.Prescription, error) {
	v, err := p.cache().value(cacheKey(bundle, "eP parsed"), func() (any, error) {
		return cda.ParsePrescription(bundle)
	})
	if err != nil {
		return nil, err
	}
	return v.(*cda.Prescription), nil
}

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
		presc, err := p.prescription(bundle)
		if err != nil {
			f := dialect.Fault(dialect.EPItemWithheld, "prescription "+ref.ID+" cannot be offered: it is incomplete in the national record", nil)
			f.Location = ref.ID
			l.Notes = append(l.Notes, f)
			continue
		}
		sum := presc.Summary(q.Now, nil)
		// eHDSI allows one prescribed item per eP document: a national
		// prescription of several items becomes one document per item.
		parts := presc.Split()
		for i, item := range sum.Items {
			what := item.Product
			if what == "" {
				what = sum.Description
			}
			part := parts[i]
			// A non-dispensable item (expired, fully dispensed, stopped, on
			// hold …) is listed with the closed flag, as OpenNCP lists it
			// (dialect.EPEventCodes): the pharmacist abroad sees it, can
			// read it, and XDR refuses a dispensation against it. Only an
			// item no pivot ePrescription may carry (cancelled, draft,
			// entered in error) is withheld, with a warning.
			if !item.Dispensable && !part.Items[0].Renderable() {
				f := dialect.Fault(dialect.EPItemWithheld, "prescription "+ref.ID+" ("+what+") is not dispensable: "+item.Reason.Explain(), nil)
				f.Location = ref.ID
				l.Notes = append(l.Notes, f)
				continue
			}
			base := epBase(ref.ID, item.ID.Extension, len(sum.Items))
			l3id := cda.II{Root: RootEP, Extension: base + ".L3"}
			l1id := cda.II{Root: RootEP, Extension: base + ".L1"}
			l3, err := p.cache().get(cacheKey(bundle, l3id.Extension, ref.Created.String()), func() ([]byte, error) {
				return cda.BuildEPFrom(part, p.epOptions(l3id, ref))
			})
			if err != nil {
				l.Notes = append(l.Notes, noteFor(ehdsi.ClassEP, ref.ID, err))
				continue
			}
			l1, err := p.cache().get(cacheKey(bundle, l1id.Extension, ref.Created.String()), func() ([]byte, error) {
				return cda.BuildEPL1From(part, p.epOptions(l1id, ref))
			})
			if err != nil {
				l.Notes = append(l.Notes, noteFor(ehdsi.ClassEP, ref.ID, err))
				continue
			}
			e3 := p.entry(q, ehdsi.ClassEP, xca.L3, l3id, l3, sum.Created, "ePrescription", what, sum.Author)
			e1 := p.entry(q, ehdsi.ClassEP, xca.L1, l1id, l1, sum.Created, "ePrescription (PDF)", what, sum.Author)
			e1.TransformOf = e3.UniqueID
			if len(part.Items) == 1 {
				// OpenNCP writes the same eventCodeList on the L3 and the L1.
				e3.EventCodes = dialect.EPEventCodes(epItem(part.Items[0], item.Dispensable))
				e1.EventCodes = e3.EventCodes
			}
			l.Entries = append(l.Entries, e3, e1)
		}
	}
	return l, nil
}

// epItem is what the eP list says about a national prescription item
// (dialect.EPEventCodes): the dispensable flag, the ATC code (the
// product's, else an ATC-coded ingredient's), the EDQM dose form, the
// strength of the first ingredient and whether substitution is allowed
// (HL7 ActSubstanceAdminSubstitutionCode: EC equivalent composition, N none).
func epItem(it cda.Item, dispensable bool) dialect.EPItem {
	out := dialect.EPItem{Dispensable: dispensable, ATC: it.Product.ATC.Code, ATCName: it.Product.ATC.Display,
		DoseForm: it.Product.DoseForm.Code, DoseFormName: it.Product.DoseForm.Display,
		SubstitutionCode: "N", SubstitutionName: "none"}
	for _, in := range it.Product.Ingredients {
		if out.ATC == "" && in.Code.System == dialect.SystemATC {
			out.ATC, out.ATCName = in.Code.Code, in.Code.Display
		}
		if out.Strength == "" && in.Strength.Value > 0 {
			out.Strength = in.Strength.String()
		}
	}
	if it.SubstitutionAllowed {
		out.SubstitutionCode, out.SubstitutionName = "EC", "equivalent composition"
	}
	return out
}

// itemSep separates the national prescription id from the item id in the
// document id of one item of a multi-item prescription.
const itemSep = "~"

// epBase is the document id (without level) of one prescribed item: the
// national prescription id alone for a one-item prescription (the id
// eDispensations quote back), with the item id otherwise.
func epBase(natID, itemID string, items int) string {
	if items <= 1 {
		return natID
	}
	return natID + itemSep + itemID
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
	base, level, ok := cutLevel(ext)
	if !ok {
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	}
	natID, itemID, _ := strings.Cut(base, itemSep)
	ref, err := p.findRef(ctx, matricule, ehdsi.ClassEP, natID)
	if err != nil {
		return nil, err
	}
	bundle, _, err := p.National.Fetch(ctx, ref)
	if err != nil {
		return nil, unavailable(ehdsi.ClassEP, err)
	}
	presc, err := p.prescription(bundle)
	if err != nil {
		return nil, transformFault(ehdsi.ClassEP, err)
	}
	parts := presc.Split()
	var part *cda.Prescription
	for i, it := range presc.Items {
		if (itemID == "" && len(parts) == 1) || it.ID.Extension == itemID {
			part = parts[i]
		}
	}
	if part == nil || epBase(natID, itemID, len(parts)) != base {
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	}
	opts := p.epOptions(cda.II{Root: RootEP, Extension: ext}, ref)
	b, err := p.cache().get(cacheKey(bundle, ext, ref.Created.String()), func() ([]byte, error) {
		if level == "L1" {
			return cda.BuildEPL1From(part, opts)
		}
		return cda.BuildEPFrom(part, opts)
	})
	if err != nil {
		return nil, transformFault(ehdsi.ClassEP, err)
	}
	return b.data, nil
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

// psDocs reads the most recent national PS of a patient and builds its L3
// and L1 (cached by the national bytes: the read and the build are pure).
// Nil when the patient has no PS.
func (p *Provider) psDocs(ctx context.Context, matricule string) (*psPair, error) {
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
	v, err := p.cache().value(cacheKey(data, "PS", ctype), func() (any, error) {
		var s *ps.Summary
		var err error
		if strings.Contains(ctype, "json") {
			s, err = ps.ReadFHIR(data, ps.Limits{})
		} else {
			s, err = ps.ReadLUCDA(data, ps.Limits{})
		}
		if err != nil {
			return nil, ehdsi.App(ehdsi.ErrPSGeneric, "the national Patient Summary cannot be read", err)
		}
		d3, err := ps.Build(s, p.psOptions())
		if err != nil {
			return nil, err
		}
		d1, err := ps.BuildL1(s, p.psOptions())
		if err != nil {
			return nil, err
		}
		return &psPair{l3: d3, l1: d1, b3: newBuiltDoc(d3.XML), b1: newBuiltDoc(d1.XML)}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*psPair), nil
}

// psPair is a national PS's L3 and L1, each with its size and hash.
type psPair struct {
	l3, l1 *ps.Document
	b3, b1 *builtDoc
}

func (p *Provider) psOptions() ps.Options {
	return ps.Options{Terminology: p.Terminology, Custodian: p.Custodian}
}

func (p *Provider) listPS(ctx context.Context, q xca.Query) (xca.Listing, error) {
	pair, err := p.psDocs(ctx, q.Patient.Extension)
	if err != nil {
		var f *ehdsi.Fault
		if errors.As(err, &f) && f.Code == ehdsi.ErrPSRegistryNotAvailable {
			return xca.Listing{}, err
		}
		return xca.Listing{Notes: []*ehdsi.Fault{noteFor(ehdsi.ClassPS, "PS", err)}}, nil
	}
	if pair == nil {
		return xca.Listing{}, nil
	}
	l3, l1 := pair.l3, pair.l1
	e3 := p.entry(q, ehdsi.ClassPS, xca.L3, l3.ID, pair.b3, l3.Created, "Patient Summary", l3.Title, "")
	e1 := p.entry(q, ehdsi.ClassPS, xca.L1, l1.ID, pair.b1, l1.Created, "Patient Summary (PDF)", l1.Title, "")
	e1.TransformOf = e3.UniqueID
	return xca.Listing{Entries: []xca.Entry{e3, e1}}, nil
}

func (p *Provider) buildPS(ctx context.Context, matricule, ext string) ([]byte, error) {
	pair, err := p.psDocs(ctx, matricule)
	if err != nil {
		var f *ehdsi.Fault
		if errors.As(err, &f) && f.Code == ehdsi.ErrPSRegistryNotAvailable {
			return nil, err
		}
		return nil, transformFault(ehdsi.ClassPS, err)
	}
	if pair == nil {
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	}
	for _, d := range []*ps.Document{pair.l3, pair.l1} {
		if d.ID.Extension == ext {
			return d.XML, nil
		}
	}
	// The national PS changed since it was listed.
	return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, "the Patient Summary was updated since it was listed; query again", nil)
}
