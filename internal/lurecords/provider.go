package lurecords

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/cda/ps"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/xca"
)

// Id roots of the documents luxncp mints, under Luxembourg's home community.
const (
	RootEP   = ehdsi.HomeCommunityLU + ".1"
	RootPS   = ps.DefaultIDRoot // …6.1.2
	RootORCD = ehdsi.HomeCommunityLU + ".3"
)

// Provider implements xca.Provider over the national record.
type Provider struct {
	National        national.Source
	Terminology     cda.Terminology
	HomeCommunityID string
	// Custodian is Luxembourg's NCP as CDA custodian.
	Custodian cda.Organization
	// Timeout bounds each national call (default 5 s).
	Timeout time.Duration
	// CacheSize is how many built documents are kept (default 512;
	// negative: no cache).
	CacheSize int

	cacheOnce sync.Once
	docs      *docCache
}

// cache returns the document cache (nil when disabled).
func (p *Provider) cache() *docCache {
	p.cacheOnce.Do(func() {
		n := p.CacheSize
		if n == 0 {
			n = 512
		}
		if n > 0 {
			p.docs = newDocCache(n)
		}
	})
	return p.docs
}

var (
	_ xca.Provider        = (*Provider)(nil)
	_ xca.ClassOfUniqueID = (*Provider)(nil)
)

// DefaultCustodian is the Luxembourg NCPeH.
func DefaultCustodian() cda.Organization {
	return cda.Organization{
		IDs:  []cda.II{{Root: ehdsi.HomeCommunityLU}},
		Name: "Agence eSanté Luxembourg — National Contact Point for eHealth",
		Addr: cda.Address{Lines: []string{"125, route d'Esch"}, City: "Luxembourg", PostalCode: "1471", Country: "LU"},
	}
}

func (p *Provider) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 5 * time.Second
}

func uniqueID(id cda.II) string { return id.Root + "^" + id.Extension }

func splitUniqueID(u string) (root, ext string) {
	root, ext, _ = strings.Cut(u, "^")
	return root, ext
}

// ClassOf implements xca.ClassOfUniqueID.
func (p *Provider) ClassOf(u string) string {
	root, ext := splitUniqueID(u)
	switch root {
	case RootEP:
		return ehdsi.ClassEP
	case RootPS:
		return ehdsi.ClassPS
	}
	_ = ext
	return orcdClassOf(root)
}

// noConsent: OpenNCP answers ERROR_PS_NO_CONSENT for every class
// (dialect.NoConsent).
func noConsent(string) *ehdsi.Fault { return dialect.Fault(dialect.NoConsent, "", nil) }

func unavailable(class string, err error) *ehdsi.Fault {
	switch class {
	case ehdsi.ClassPS:
		return ehdsi.App(ehdsi.ErrPSRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrPSRegistryNotAvailable), err)
	case ehdsi.ClassEP:
		return ehdsi.App(ehdsi.ErrEPRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrEPRegistryNotAvailable), err)
	}
	return ehdsi.App(ehdsi.ErrORCDServiceNotAvailable, ehdsi.Describe(ehdsi.ErrORCDServiceNotAvailable), err)
}

// consent checks the patient allows cross-border sharing.
func (p *Provider) consent(ctx context.Context, matricule, class string) error {
	c, err := p.National.Consent(ctx, matricule)
	if err != nil {
		if errors.Is(err, national.ErrNotFound) {
			return noConsent(class)
		}
		return unavailable(class, err)
	}
	if !c.CrossBorder {
		return noConsent(class)
	}
	return nil
}

// List implements xca.Provider.
func (p *Provider) List(ctx context.Context, q xca.Query) (xca.Listing, error) {
	if q.Patient.Root != ehdsi.OIDMatricule {
		return xca.Listing{}, dialect.Fault(dialect.PatientMismatch, "patients are identified by the Luxembourg national identification number ("+ehdsi.OIDMatricule+")", nil)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	var out xca.Listing
	for _, class := range q.ClassCodes {
		if err := p.consent(ctx, q.Patient.Extension, class); err != nil {
			return xca.Listing{}, err
		}
		var l xca.Listing
		var err error
		switch class {
		case ehdsi.ClassEP:
			l, err = p.listEP(ctx, q)
		case ehdsi.ClassPS:
			l, err = p.listPS(ctx, q)
		case ehdsi.ClassLab, ehdsi.ClassImaging, ehdsi.ClassDischarge:
			l, err = p.listORCD(ctx, q, class)
		default:
			return xca.Listing{}, dialect.Fault(dialect.UnknownClass, "class code "+class+" is not served", nil)
		}
		if err != nil {
			return xca.Listing{}, err
		}
		if len(l.Entries) == 0 && len(l.Notes) == 0 {
			l.Notes = append(l.Notes, nothingFor(class))
		}
		out.Entries = append(out.Entries, l.Entries...)
		out.Notes = append(out.Notes, l.Notes...)
	}
	return out, nil
}

func sha1hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

func (p *Provider) entry(q xca.Query, class string, level xca.Level, id cda.II, doc *builtDoc, created time.Time, title, desc, author string) xca.Entry {
	root := id.Root
	return xca.Entry{
		UniqueID: uniqueID(id), RepositoryUniqueID: root, HomeCommunityID: p.HomeCommunityID,
		Patient: q.Patient, ClassCode: class, Level: level, Title: title, Description: desc,
		Created: created, Author: author, Language: "fr-LU", Country: "LU", MimeType: "text/xml",
		Size: len(doc.data), Hash: doc.sha1,
	}
}

// Retrieve implements xca.Provider.
func (p *Provider) Retrieve(ctx context.Context, r xca.RetrieveRequest) (xca.Document, error) {
	missing := ehdsi.App(ehdsi.ErrGenericDocumentMissing, ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), nil)
	if r.Patient.Root != ehdsi.OIDMatricule {
		return xca.Document{}, missing
	}
	class := p.ClassOf(r.UniqueID)
	if class == "" {
		return xca.Document{}, missing
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	if err := p.consent(ctx, r.Patient.Extension, class); err != nil {
		return xca.Document{}, err
	}
	// Build only the asked document, from the patient's own national
	// documents: another patient's document can never be found.
	_, ext := splitUniqueID(r.UniqueID)
	var data []byte
	var err error
	switch class {
	case ehdsi.ClassEP:
		data, err = p.buildEP(ctx, r.Patient.Extension, ext)
	case ehdsi.ClassPS:
		data, err = p.buildPS(ctx, r.Patient.Extension, ext)
	default:
		data, err = p.buildORCD(ctx, r.Patient.Extension, class, r.UniqueID)
	}
	if err != nil {
		return xca.Document{}, err
	}
	root, _ := splitUniqueID(r.UniqueID)
	return xca.Document{UniqueID: r.UniqueID, RepositoryUniqueID: root, HomeCommunityID: p.HomeCommunityID,
		MimeType: "text/xml", Data: data, ClassCode: class}, nil
}

func transformFault(class string, err error) error {
	var te *cda.TranscodeError
	if errors.As(err, &te) {
		code := ehdsi.ErrEPMissingExpectedMapping
		if class == ehdsi.ClassPS {
			code = ehdsi.ErrPSMissingExpectedMapping
		}
		return ehdsi.App(code, "a required coded element could not be transcoded to the eHDSI Master Value Catalogue: "+te.Error(), err)
	}
	var f *ehdsi.Fault
	if errors.As(err, &f) {
		return f
	}
	code := ehdsi.ErrEPInternalError
	if class == ehdsi.ClassPS {
		code = ehdsi.ErrPSInternalError
	}
	return ehdsi.App(code, ehdsi.Describe(code), fmt.Errorf("transform: %w", err))
}

// nothingFor says, in the partner's terms, that the patient has no
// document of a class: the dialect's "nothing found" warning (PS
// ERROR_PS_NOT_FOUND, eP ERROR_EP_NOT_FOUND, OrCD 1104).
func nothingFor(class string) *ehdsi.Fault {
	text := "No document of class " + class + " is available for this patient in Luxembourg."
	switch class {
	case ehdsi.ClassEP:
		text = "No ePrescription is registered for this patient in Luxembourg."
	case ehdsi.ClassPS:
		text = "No Patient Summary is available for this patient in Luxembourg."
	}
	return dialect.Fault(dialect.NotFound(class), text, nil)
}
