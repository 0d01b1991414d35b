package lurecords

import (
	"context"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/xca"
)

// ORCDInput is what an original clinical document builder gets.
type ORCDInput struct {
	ID        cda.II
	ClassCode string
	Title     string
	Created   time.Time
	Author    string
	Matricule string
	PDF       []byte
	Custodian cda.Organization
}

// ORCDBuilder wraps an original PDF into the eHDSI OrCD CDA of its class.
type ORCDBuilder func(in ORCDInput) ([]byte, error)

func (p *Provider) orcdInput(ref national.DocumentRef, matricule string, pdf []byte) ORCDInput {
	return ORCDInput{ID: cda.II{Root: RootORCD, Extension: ref.ClassCode + "." + ref.ID}, ClassCode: ref.ClassCode, Title: ref.Title,
		Created: ref.Created, Author: ref.Author, Matricule: matricule, PDF: pdf, Custodian: p.Custodian}
}

func (p *Provider) listORCD(ctx context.Context, q xca.Query, class string) (xca.Listing, error) {
	if p.ORCD == nil {
		return xca.Listing{}, ehdsi.App(ehdsi.ErrGenericServiceSignifier, "original clinical documents are not served by this node", nil)
	}
	refs, err := p.National.ListDocuments(ctx, q.Patient.Extension, class)
	if err != nil {
		return xca.Listing{}, unavailable(class, err)
	}
	var l xca.Listing
	for _, ref := range refs {
		pdf, _, err := p.National.Fetch(ctx, ref)
		if err != nil {
			return xca.Listing{}, unavailable(class, err)
		}
		in := p.orcdInput(ref, q.Patient.Extension, pdf)
		doc, err := p.ORCD(in)
		if err != nil {
			l.Notes = append(l.Notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.ErrORCDGeneric, Public: "document " + ref.ID + " cannot be offered", Location: ref.ID, Cause: err})
			continue
		}
		e := p.entry(q, class, xca.L1, in.ID, doc, ref.Created, ref.Title, ref.Title, ref.Author)
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

func (p *Provider) buildORCD(ctx context.Context, matricule, ext string) ([]byte, error) {
	class, natID, ok := strings.Cut(ext, ".")
	if !ok || p.ORCD == nil {
		return nil, ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	}
	ref, err := p.findRef(ctx, matricule, class, natID)
	if err != nil {
		return nil, err
	}
	pdf, _, err := p.National.Fetch(ctx, ref)
	if err != nil {
		return nil, unavailable(class, err)
	}
	return p.ORCD(p.orcdInput(ref, matricule, pdf))
}
