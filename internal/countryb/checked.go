package countryb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// checkRetrieved reads the document of an XCA retrieve reply into f, with
// every check a hostile or broken contact point calls for, cheapest first:
// the reply was capped while it streamed in (routing); the document's
// decoded size is checked before it is decoded; it is parsed by the same
// hardened reader as Country A input, with the limits of its class; it
// must be the document asked for, carry no active content, be signed as
// its country signs, and be about the patient.
func (s *Service) checkRetrieved(f *fetched, res *routing.Result, cc, class string, pid wssec.PatientID, ref DocumentRef, lim soap.Limits) error {
	_, docs, errs, perr := ncpclient.ParseRetrieveResponse(soap.LimitedContent{Env: res.Reply.Env, Max: lim.MaxBytes}, res.Reply.Env.Body)
	if perr != nil {
		if errors.Is(perr, soap.ErrTooLarge) {
			return invalidReply(cc, fmt.Sprintf("the returned document is larger than %d bytes; luxncp refuses it", lim.MaxBytes), "", perr)
		}
		return invalidReply(cc, "the document in the reply cannot be read", "", perr)
	}
	if len(docs) == 0 {
		if len(errs) > 0 {
			return peerFault(errs[0].Code, errs[0].Context, ehdsi.ErrGeneric)
		}
		return ehdsi.App(ehdsi.ErrGenericDocumentMissing, "the document was not returned", nil)
	}
	const substituted = "the contact point returned another document than the one asked for; it is not shown"
	d := docs[0]
	if len(docs) > 1 || strings.TrimSpace(d.UniqueID) != ref.ID {
		return invalidReply(cc, substituted, "", fmt.Errorf("%d documents, first %q, asked %q", len(docs), d.UniqueID, ref.ID))
	}
	f.data = trimBOM(d.Data)
	doc, perr := soap.ParseDocument(f.data, lim)
	if perr != nil {
		var fault *ehdsi.Fault
		public := "the returned document cannot be read"
		if errors.As(perr, &fault) {
			public = "the returned document is refused: " + fault.Public
		}
		return invalidReply(cc, public, "", perr)
	}
	root := doc.Root()
	if root.Tag != "ClinicalDocument" || root.NamespaceURI() != "urn:hl7-org:v3" {
		return invalidReply(cc, "the returned document is not an HL7 CDA document", "", nil)
	}
	f.doc = doc
	if err := activeContent(doc); err != nil {
		return invalidReply(cc, "the returned document carries active content ("+err.Error()+"); it is not shown", "", err)
	}
	if !sameDocument(root, ref.ID) {
		return invalidReply(cc, substituted, "", errors.New("the CDA id does not name the document asked for"))
	}
	if strayedSignature(root) {
		return invalidReply(cc, "the returned document carries a signature that is not its own (a wrapped document); it is not shown",
			ehdsi.ErrSecDataIntegrityNotEnsured, nil)
	}
	sg, verr := routing.VerifyDocumentElement(root, s.cfg.Trust, cc, s.now())
	f.signed = sg
	if verr != nil {
		return invalidReply(cc, "the document's signature does not verify; it is not shown", ehdsi.ErrSecDataIntegrityNotEnsured, verr)
	}
	if !sg {
		if res.Country.SignsDocuments {
			return invalidReply(cc, "the document is not signed although "+cc+" signs its documents; it is not shown",
				ehdsi.ErrSecDataIntegrityNotEnsured, nil)
		}
		f.warnings = append(f.warnings, render.Note{Key: render.NoteUnsigned, Args: []string{cc}})
	}
	w, cerr := checkCDA(root, class, pid)
	f.warnings = append(f.warnings, w...)
	if cerr != nil {
		return invalidReply(cc, "the document fails luxncp's checks: "+cerr.Error(), "", nil)
	}
	if note, ok := implausibleDate(root, s.now()); ok {
		f.warnings = append(f.warnings, note)
	}
	return nil
}
