package countryb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/peertext"
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
)

// Limits bound what Country B accepts from a foreign contact point and
// how much of it it holds at once. Zero fields take the defaults.
type Limits struct {
	// Documents bounds a retrieved document by class code (ehdsi.ClassPS,
	// ClassEP, ClassLab): MaxBytes decoded, and the element, depth and
	// attribute limits of the hardened reader (package soap). A class not
	// listed, or a zero field, takes DefaultDocumentLimits. The reply that
	// carries the document is capped while it streams in at
	// ReplyBytes(MaxBytes).
	Documents map[string]soap.Limits
	// MaxQueryReplyBytes caps a patient search (XCPD) or document list
	// (XCA query) reply; default 1 MiB.
	MaxQueryReplyBytes int64
	// MaxReplyBytes caps every other reply (XDR); default 4 MiB.
	MaxReplyBytes int64
	// ReplyBudget bounds the replies Country B reads at once, all
	// countries and transactions together: each call reserves its reply
	// cap (1 MiB for a search or list, ReplyBytes of the class limit for a
	// retrieve) before it is sent, and gives it back when the reply is
	// read; a call that finds no room waits up to DocumentWait and is then
	// refused as country-busy (HTTP 503). Default 48 MiB.
	ReplyBudget int64
	// MaxDocuments is how many foreign documents Country B holds in memory
	// at once (default 4); a retrieve beyond that waits up to DocumentWait
	// (default 2 s) and is then refused as country-busy (HTTP 503).
	MaxDocuments int
	DocumentWait time.Duration
}

// Defaults of Limits. The largest XCA query reply among the shared
// samples is 15 807 bytes (two eP entries), the largest XCPD reply 5 522
// bytes: DefaultMaxQueryReplyBytes leaves sixty times that, some 150
// document entries. The largest real Patient Summary among the shared
// eHDSI samples is 170 233 bytes with 2 191 elements (PT wave 8), the
// largest ePrescription 24 756 bytes with 253 elements; an L1 document
// carries a PDF of a few hundred kilobytes. The defaults leave twenty
// times that room and bound the memory of one document (docs/benchmarks.md).
const (
	DefaultMaxQueryReplyBytes = 1 << 20
	DefaultDocumentBytes      = 4 << 20
	DefaultDocumentElements   = 50000
	DefaultDocumentDepth      = 64
	DefaultMaxReplyBytes      = 4 << 20
	DefaultReplyBudget        = 48 << 20
	DefaultMaxDocuments       = 4
	DefaultDocumentWait       = 2 * time.Second
)

// DefaultDocumentLimits are the limits of a class without its own.
func DefaultDocumentLimits() soap.Limits {
	return soap.Limits{MaxBytes: DefaultDocumentBytes, MaxElements: DefaultDocumentElements, MaxDepth: DefaultDocumentDepth,
		MaxAttributes: soap.DefaultMaxAttributes}
}

// ReplyBytes is the reply cap for a document of at most docBytes: base64
// grows it by a third; 1 MiB covers the envelope, the security header and
// MIME headers.
func ReplyBytes(docBytes int64) int64 { return docBytes/3*4 + 4 + 1<<20 }

func (l Limits) withDefaults() Limits {
	if l.MaxReplyBytes <= 0 {
		l.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if l.MaxQueryReplyBytes <= 0 {
		l.MaxQueryReplyBytes = DefaultMaxQueryReplyBytes
	}
	if l.ReplyBudget <= 0 {
		l.ReplyBudget = DefaultReplyBudget
	}
	if l.MaxDocuments <= 0 {
		l.MaxDocuments = DefaultMaxDocuments
	}
	if l.DocumentWait <= 0 {
		l.DocumentWait = DefaultDocumentWait
	}
	return l
}

// document returns the limits of a class, zero fields filled.
func (l Limits) document(class string) soap.Limits {
	return l.Documents[class].Or(DefaultDocumentLimits())
}

// holdDocument takes one of the MaxDocuments slots, waiting at most
// DocumentWait; release gives it back.
func (s *Service) holdDocument(ctx context.Context, cc string) (release func(), err error) {
	select {
	case s.docSlots <- struct{}{}:
		return func() { <-s.docSlots }, nil
	default:
	}
	t := time.NewTimer(s.cfg.Limits.DocumentWait)
	defer t.Stop()
	select {
	case s.docSlots <- struct{}{}:
		return func() { <-s.docSlots }, nil
	case <-ctx.Done():
		return nil, countryBusy(cc, ctx.Err())
	case <-t.C:
		s.log().InfoContext(ctx, "countryb: foreign document slots full", "country", cc, "slots", cap(s.docSlots))
		return nil, countryBusy(cc, nil)
	}
}

// holdReply reserves n bytes of the ReplyBudget (at most all of it),
// waiting at most DocumentWait; release gives them back.
func (s *Service) holdReply(ctx context.Context, cc string, n int64) (release func(), err error) {
	n = min(max(n, 1), s.cfg.Limits.ReplyBudget)
	release = func() { s.replies.Release(n) }
	if s.replies.TryAcquire(n) {
		return release, nil
	}
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	t := time.AfterFunc(s.cfg.Limits.DocumentWait, cancel)
	defer t.Stop()
	if err := s.replies.Acquire(wait, n); err != nil {
		if ctx.Err() != nil {
			return nil, countryBusy(cc, ctx.Err())
		}
		s.log().InfoContext(ctx, "countryb: foreign reply budget full", "country", cc, "bytes", n, "budget", s.cfg.Limits.ReplyBudget)
		return nil, countryBusy(cc, nil)
	}
	return release, nil
}

// countryBusy is the refusal of a call that found no room in memory.
func countryBusy(cc string, cause error) *APIError {
	return &APIError{Status: 503, Code: "country-busy", Country: cc, Cause: cause,
		Message: "luxncp is busy with other foreign replies; retry in a moment"}
}

// peerFault is an application error a contact point reported: its code
// mapped onto the eHDSI list (an unknown one becomes fallback and is named
// in the text) and its text bounded and stripped of control and bidi
// characters, before it reaches the API, the log or the audit. A code
// not on the list leaves errUnknownPeerCode as the fault's cause.
func peerFault(rawCode, text string, fallback ehdsi.Code) *ehdsi.Fault {
	code, detail := peertext.ErrorCode(rawCode, fallback)
	text = peertext.Clean(text)
	var cause error
	if detail != "" {
		text = strings.TrimSpace(text + " (" + detail + ")")
	}
	if !ehdsi.Known(ehdsi.Code(strings.TrimSpace(rawCode))) {
		cause = errUnknownPeerCode
	}
	return ehdsi.App(code, text, cause)
}

// errUnknownPeerCode marks an application error whose code the contact
// point chose outside the eHDSI list: the API answers it as the country's
// refusal (country-refused, 502), not as an eHDSI outcome.
var errUnknownPeerCode = errors.New("the contact point sent an error code outside the eHDSI list")

// cleanFound bounds and cleans the text of a patient a contact point
// found.
func cleanFound(p FoundPatient) FoundPatient {
	c := func(s string) string { return peertext.CleanN(s, 256) }
	p.ID.Root, p.ID.Extension = c(p.ID.Root), c(p.ID.Extension)
	p.Given, p.Family, p.Gender, p.BirthDate, p.Address = c(p.Given), c(p.Family), c(p.Gender), c(p.BirthDate), c(p.Address)
	return p
}

// consentCodes are the eHDSI codes that mean the patient's consent is
// missing (HTTP 403 no-consent).
var consentCodes = map[ehdsi.Code]bool{ehdsi.ErrNoConsent: true, ehdsi.WarnPINoConsent: true, ehdsi.ErrPSNoConsent: true,
	ehdsi.ErrEPNoConsent: true, ehdsi.ErrEDNoConsent: true}

// Namespaces whose elements a browser or an XML tool acts on: a CDA
// document never needs them (its narrative is HL7's own, in urn:hl7-org:v3).
var activeNamespaces = map[string]string{
	"http://www.w3.org/1999/xhtml":           "XHTML",
	"http://www.w3.org/2000/svg":             "SVG",
	"http://www.w3.org/1998/Math/MathML":     "MathML",
	"http://www.w3.org/1999/XSL/Transform":   "XSLT",
	"http://www.w3.org/2001/XInclude":        "XInclude",
	"http://www.w3.org/2001/xml-events":      "XML Events",
	"http://www.w3.org/1999/xlink":           "XLink",
	"urn:schemas-microsoft-com:xslt":         "MSXSL",
	"http://www.w3.org/2005/xpath-functions": "XPath functions",
}

// activeContent reports content of doc that could act when the XML is
// opened (the hardened reader has already refused DTDs, entities and
// processing instructions): elements or attributes of an active namespace,
// any element named script, and an xml:base that redirects relative links.
func activeContent(doc *etree.Document) error {
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		if name, ok := activeNamespaces[el.NamespaceURI()]; ok {
			return fmt.Errorf("a %s element (%s)", name, el.Tag)
		}
		if strings.EqualFold(el.Tag, "script") {
			return fmt.Errorf("a script element")
		}
		for _, a := range el.Attr {
			if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
				continue
			}
			if name, ok := activeNamespaces[a.NamespaceURI()]; ok {
				return fmt.Errorf("a %s attribute (%s)", name, a.Key)
			}
			if a.Space == "xml" && a.Key == "base" {
				return fmt.Errorf("an xml:base attribute")
			}
		}
		for _, c := range el.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(doc.Root())
}

// strayedSignature reports a ds:Signature anywhere but as a child of the
// root: the sign of a signed document wrapped in an unsigned one.
func strayedSignature(root *etree.Element) bool {
	var below func(el *etree.Element) bool
	below = func(el *etree.Element) bool {
		for _, c := range el.ChildElements() {
			if c.Tag == "Signature" && c.NamespaceURI() == nsDSig || below(c) {
				return true
			}
		}
		return false
	}
	for _, c := range root.ChildElements() {
		if below(c) {
			return true
		}
	}
	return false
}

const nsDSig = "http://www.w3.org/2000/09/xmldsig#"

// sameDocument reports whether the CDA id (root, extension) names the XDS
// document unique id asked for: "root", "root^extension" or, for partners
// that register the extension alone, "extension".
func sameDocument(root *etree.Element, uniqueID string) bool {
	id := root.SelectElement("id")
	if id == nil {
		return false
	}
	r, x := id.SelectAttrValue("root", ""), id.SelectAttrValue("extension", "")
	want := strings.TrimSpace(uniqueID)
	return want != "" && (want == r && x == "" || want == r+"^"+x || x != "" && want == x)
}

// implausibleDate returns a warning when the document's effectiveTime
// (HL7 TS, YYYYMMDD[HHMM[SS]][±ZZZZ]) is not a date, lies in the future
// (beyond a day of clock skew) or before 1900.
func implausibleDate(root *etree.Element, now time.Time) (render.Note, bool) {
	et := root.SelectElement("effectiveTime")
	if et == nil {
		return render.Note{}, false
	}
	v := strings.TrimSpace(et.SelectAttrValue("value", ""))
	if v == "" {
		return render.Note{}, false
	}
	notADate := render.Note{Key: render.NoteBadDate, Args: []string{peertext.CleanN(v, 128)}}
	digits := v
	if i := strings.IndexAny(digits, "+-."); i >= 0 {
		digits = digits[:i]
	}
	if len(digits) < 8 {
		return notADate, true
	}
	t, err := time.Parse("20060102", digits[:8])
	switch {
	case err != nil:
		return notADate, true
	case t.After(now.Add(24 * time.Hour)):
		return render.Note{Key: render.NoteFutureDate, Args: []string{digits[:8]}}, true
	case t.Year() < 1900:
		return render.Note{Key: render.NoteOldDate, Args: []string{digits[:8]}}, true
	}
	return render.Note{}, false
}

// invalidReply is the refusal of a retrieve reply.
func invalidReply(cc, public string, code ehdsi.Code, cause error) *routing.Error {
	return &routing.Error{Kind: routing.ErrInvalidReply, Country: cc, Transaction: routing.ITI39, Code: code, Public: public, Cause: cause}
}
