package xdr

import (
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Namespaces of ITI-41.
const (
	NSXDSB = "urn:ihe:iti:xds-b:2007"
	NSLCM  = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
	NSRIM  = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
	NSRS   = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"

	schemeClass         = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
	schemeFormat        = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
	schemeUniqueID      = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
	schemeSubmissionUID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
)

// Submission is a parsed ProvideAndRegisterDocumentSetRequest.
type Submission struct {
	ClassCode       string
	FormatCode      string // XDSDocumentEntry.formatCode, exactly as sent
	EntryID         string // ExtrinsicObject id
	UniqueID        string // XDSDocumentEntry.uniqueId
	SubmissionSetID string
	SourcePatient   wssec.PatientID
	Document        *etree.Element // the xds-b:Document element holding the CDA
}

func kids(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func kid(el *etree.Element, ns, tag string) *etree.Element {
	if k := kids(el, ns, tag); len(k) > 0 {
		return k[0]
	}
	return nil
}

func slotValue(el *etree.Element, name string) string {
	for _, s := range kids(el, NSRIM, "Slot") {
		if s.SelectAttrValue("name", "") == name {
			if v := kid(kid(s, NSRIM, "ValueList"), NSRIM, "Value"); v != nil {
				return strings.TrimSpace(v.Text())
			}
		}
	}
	return ""
}

func malformed(msg string) error { return ehdsi.Sender(ehdsi.ErrEDIncorrectFormatting, msg, nil) }

// Kind is what the submission asks, decided as OpenNCP decides it: by the
// formatCode, falling back on the class code when there is none.
func (s *Submission) Kind() dialect.EDKind { return dialect.EDKindOf(s.FormatCode, s.ClassCode) }

// Parse reads the body. eHDSI sends one document per submission.
func Parse(body *etree.Element) (*Submission, error) {
	if body == nil || body.Tag != "ProvideAndRegisterDocumentSetRequest" || body.NamespaceURI() != NSXDSB {
		return nil, malformed("the SOAP body is not a ProvideAndRegisterDocumentSetRequest")
	}
	sor := kid(body, NSLCM, "SubmitObjectsRequest")
	list := kid(sor, NSRIM, "RegistryObjectList")
	if list == nil {
		return nil, malformed("SubmitObjectsRequest/RegistryObjectList missing")
	}
	eos := kids(list, NSRIM, "ExtrinsicObject")
	if len(eos) != 1 {
		return nil, malformed("exactly one DocumentEntry (ExtrinsicObject) per eDispensation submission")
	}
	eo := eos[0]
	s := &Submission{EntryID: eo.SelectAttrValue("id", "")}
	s.SourcePatient = wssec.ParseCX(slotValue(eo, "sourcePatientId"))
	for _, c := range kids(eo, NSRIM, "Classification") {
		switch c.SelectAttrValue("classificationScheme", "") {
		case schemeClass:
			s.ClassCode = strings.TrimSpace(c.SelectAttrValue("nodeRepresentation", ""))
		case schemeFormat:
			s.FormatCode = strings.TrimSpace(c.SelectAttrValue("nodeRepresentation", ""))
		}
	}
	for _, x := range kids(eo, NSRIM, "ExternalIdentifier") {
		if x.SelectAttrValue("identificationScheme", "") == schemeUniqueID {
			s.UniqueID = strings.TrimSpace(x.SelectAttrValue("value", ""))
		}
	}
	for _, rp := range kids(list, NSRIM, "RegistryPackage") {
		for _, x := range kids(rp, NSRIM, "ExternalIdentifier") {
			if x.SelectAttrValue("identificationScheme", "") == schemeSubmissionUID {
				s.SubmissionSetID = strings.TrimSpace(x.SelectAttrValue("value", ""))
			}
		}
	}
	if s.ClassCode == "" && s.FormatCode == "" {
		return nil, malformed("the DocumentEntry has neither class code nor format code")
	}
	docs := kids(body, NSXDSB, "Document")
	if len(docs) != 1 {
		return nil, malformed("exactly one Document per eDispensation submission")
	}
	if docs[0].SelectAttrValue("id", "") != s.EntryID {
		return nil, malformed("the Document id does not match the DocumentEntry id")
	}
	s.Document = docs[0]
	return s, nil
}
