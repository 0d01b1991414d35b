package xca

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Namespaces and identifiers of XDS.b / ebRIM 3.0.
const (
	NSRIM   = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
	NSRS    = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
	NSQuery = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
	NSXDSB  = "urn:ihe:iti:xds-b:2007"

	FindDocuments     = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
	StatusApproved    = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
	ResponseSuccess   = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
	ResponseFailure   = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
	ResponsePartial   = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
	objectTypeStable  = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
	schemeClass       = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
	schemeType        = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
	schemeConf        = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
	schemeFormat      = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
	schemeHealthcare  = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
	schemePractice    = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
	schemeEvent       = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
	schemeAuthor      = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
	idSchemePatientID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
	idSchemeUniqueID  = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
	assocXFRM         = "urn:ihe:iti:2007:AssociationType:XFRM"
)

// FormatCode of an entry, as OpenNCP writes them (dialect.FormatCode).
func FormatCode(class string, level Level) Code { return dialect.FormatCode(class, level == L1) }

// ClassDisplay names the eHDSI document classes.
func ClassDisplay(class string) string {
	switch class {
	case ehdsi.ClassPS:
		return "eHDSI - Patient Summary"
	case ehdsi.ClassEP:
		return "eHDSI - ePrescription"
	case ehdsi.ClassED:
		return "eHDSI - eDispensation"
	case ehdsi.ClassLab:
		return "Laboratory result"
	case ehdsi.ClassImaging:
		return "Imaging report"
	case ehdsi.ClassDischarge:
		return "Hospital discharge report"
	}
	return class
}

// FindDocumentsQuery is what an AdhocQueryRequest asks.
type FindDocumentsQuery struct {
	QueryID    string
	Patient    wssec.PatientID
	ClassCodes []string
	Statuses   []string
	Composed   bool // returnType LeafClass
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
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

func child(el *etree.Element, ns, tag string) *etree.Element {
	if cs := children(el, ns, tag); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// slotValues parses an XDS stored-query slot: 'a' or ('a','b') values,
// possibly split over several Value elements.
func slotValues(slot *etree.Element) []string {
	var out []string
	for _, vl := range children(slot, NSRIM, "ValueList") {
		for _, v := range children(vl, NSRIM, "Value") {
			s := strings.TrimSpace(v.Text())
			s = strings.TrimPrefix(s, "(")
			s = strings.TrimSuffix(s, ")")
			for _, part := range strings.Split(s, ",") {
				part = strings.TrimSpace(part)
				part = strings.Trim(part, "'")
				if part != "" {
					out = append(out, strings.TrimSpace(part))
				}
			}
		}
	}
	return out
}

// ParseQuery reads an AdhocQueryRequest body. Errors are sender faults
// naming what is wrong.
func ParseQuery(body *etree.Element) (FindDocumentsQuery, error) {
	var q FindDocumentsQuery
	bad := func(msg string) error { return ehdsi.Sender(ehdsi.ErrGeneric, msg, nil) }
	if body == nil || body.Tag != "AdhocQueryRequest" || body.NamespaceURI() != NSQuery {
		return q, bad("the SOAP body is not an ebRS AdhocQueryRequest")
	}
	if ro := child(body, NSQuery, "ResponseOption"); ro != nil {
		q.Composed = ro.SelectAttrValue("returnType", "") == "LeafClass"
	}
	aq := child(body, NSRIM, "AdhocQuery")
	if aq == nil {
		return q, bad("AdhocQueryRequest without AdhocQuery")
	}
	q.QueryID = strings.TrimSpace(aq.SelectAttrValue("id", ""))
	if q.QueryID != FindDocuments {
		return q, ehdsi.Sender(ehdsi.ErrGeneric, "only the FindDocuments stored query ("+FindDocuments+") is supported", nil)
	}
	for _, s := range children(aq, NSRIM, "Slot") {
		vals := slotValues(s)
		switch s.SelectAttrValue("name", "") {
		case "$XDSDocumentEntryPatientId":
			if len(vals) != 1 {
				return q, bad("$XDSDocumentEntryPatientId must have exactly one value")
			}
			q.Patient = wssec.ParseCX(vals[0])
		case "$XDSDocumentEntryClassCode":
			for _, v := range vals {
				code, _, _ := strings.Cut(v, "^")
				q.ClassCodes = append(q.ClassCodes, code)
			}
		case "$XDSDocumentEntryStatus":
			q.Statuses = vals
		}
	}
	if q.Patient.Extension == "" {
		return q, bad("$XDSDocumentEntryPatientId is required")
	}
	if len(q.ClassCodes) == 0 {
		return q, bad("$XDSDocumentEntryClassCode is required by eHDSI")
	}
	return q, nil
}

// entryUUID derives the ebRIM object id of an entry from its unique id, so
// repeated queries give the same metadata.
func entryUUID(uniqueID, salt string) string {
	h := sha256.Sum256([]byte(salt + "|" + uniqueID))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	x := hex.EncodeToString(h[:16])
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// withAttrs sizes el's attribute slice for n attributes (CreateAttr's
// append would grow it 1, 2, 4, 8: up to four allocations an element)
// and el's children for c tokens; only capacity, never the output.
func withAttrs(el *etree.Element, n, c int) *etree.Element {
	el.Attr = make([]etree.Attr, 0, n)
	if c > 0 {
		el.Child = make([]etree.Token, 0, c)
	}
	return el
}

func slot(parent *etree.Element, name string, values ...string) {
	s := parent.CreateElement("Slot")
	s.CreateAttr("name", name)
	vl := s.CreateElement("ValueList")
	for _, v := range values {
		vl.CreateElement("Value").SetText(v)
	}
}

func localized(parent *etree.Element, tag, value string) {
	parent.CreateElement(tag).CreateElement("LocalizedString").CreateAttr("value", value)
}

func classification(eo *etree.Element, scheme, obj string, c Code) {
	cl := withAttrs(eo.CreateElement("Classification"), 4, 2)
	cl.CreateAttr("classificationScheme", scheme)
	cl.CreateAttr("classifiedObject", obj)
	cl.CreateAttr("id", entryUUID(obj+c.Code+scheme, "cl"))
	cl.CreateAttr("nodeRepresentation", c.Code)
	slot(cl, "codingScheme", c.Scheme)
	localized(cl, "Name", c.Display)
}

func externalID(eo *etree.Element, scheme, obj, value, name string) {
	x := withAttrs(eo.CreateElement("ExternalIdentifier"), 5, 0)
	x.CreateAttr("id", entryUUID(obj+scheme, "ei"))
	x.CreateAttr("identificationScheme", scheme)
	x.CreateAttr("objectType", "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier")
	x.CreateAttr("registryObject", obj)
	x.CreateAttr("value", value)
	localized(x, "Name", name)
}

func extrinsicObject(list *etree.Element, e Entry) {
	id := entryUUID(e.UniqueID, "eo")
	// 6 attributes; up to 7 slots, Name, Description, VersionInfo, 8
	// classifications and 2 external identifiers without event codes.
	eo := withAttrs(list.CreateElement("ExtrinsicObject"), 6, 20+len(e.EventCodes))
	eo.CreateAttr("home", "urn:oid:"+e.HomeCommunityID)
	eo.CreateAttr("id", id)
	eo.CreateAttr("lid", id)
	mt := e.MimeType
	if mt == "" {
		mt = "text/xml"
	}
	eo.CreateAttr("mimeType", mt)
	eo.CreateAttr("objectType", objectTypeStable)
	eo.CreateAttr("status", StatusApproved)
	slot(eo, "creationTime", e.Created.UTC().Format("20060102150405"))
	if e.Hash != "" {
		slot(eo, "hash", e.Hash)
	}
	lang := e.Language
	if lang == "" {
		lang = "fr-LU"
	}
	slot(eo, "languageCode", lang)
	slot(eo, "repositoryUniqueId", e.RepositoryUniqueID)
	if e.Size > 0 {
		slot(eo, "size", strconv.Itoa(e.Size))
	}
	slot(eo, "sourcePatientId", e.Patient.String())
	title := e.Title
	if title == "" {
		title = ClassDisplay(e.ClassCode)
	}
	localized(eo, "Name", title)
	if e.Description != "" {
		localized(eo, "Description", e.Description)
	}
	eo.CreateElement("VersionInfo").CreateAttr("versionName", "1")
	if e.Author != "" || e.AuthorInstitution != "" {
		cl := withAttrs(eo.CreateElement("Classification"), 4, 2)
		cl.CreateAttr("classificationScheme", schemeAuthor)
		cl.CreateAttr("classifiedObject", id)
		cl.CreateAttr("id", entryUUID(id, "author"))
		cl.CreateAttr("nodeRepresentation", "")
		if e.Author != "" {
			slot(cl, "authorPerson", e.Author)
		}
		if e.AuthorInstitution != "" {
			slot(cl, "authorInstitution", e.AuthorInstitution)
		}
	}
	classification(eo, schemeClass, id, Code{Code: e.ClassCode, Scheme: ehdsi.LOINC, Display: ClassDisplay(e.ClassCode)})
	conf := e.Confidentiality
	if conf == "" {
		conf = "N"
	}
	classification(eo, schemeConf, id, Code{Code: conf, Scheme: "2.16.840.1.113883.5.25", Display: map[string]string{"N": "normal", "R": "restricted"}[conf]})
	for _, ec := range e.EventCodes {
		classification(eo, schemeEvent, id, ec)
	}
	classification(eo, schemeFormat, id, FormatCode(e.ClassCode, e.Level))
	country := e.Country
	if country == "" {
		country = "LU"
	}
	classification(eo, schemeHealthcare, id, Code{Code: country, Scheme: "1.0.3166.1", Display: country})
	classification(eo, schemePractice, id, Code{Code: "Not Used", Scheme: "eHDSI Practice Setting Codes-Not Used", Display: "Not Used"})
	classification(eo, schemeType, id, Code{Code: e.ClassCode, Scheme: ehdsi.LOINC, Display: ClassDisplay(e.ClassCode)})
	externalID(eo, idSchemePatientID, id, e.Patient.String(), "XDSDocumentEntry.patientId")
	externalID(eo, idSchemeUniqueID, id, e.UniqueID, "XDSDocumentEntry.uniqueId")
}

func registryErrors(parent *etree.Element, notes []*ehdsi.Fault) {
	if len(notes) == 0 {
		return
	}
	highest := ehdsi.SeverityWarning
	for _, n := range notes {
		if n.Severity() == ehdsi.SeverityError {
			highest = ehdsi.SeverityError
		}
	}
	list := parent.CreateElement("rs:RegistryErrorList")
	list.CreateAttr("highestSeverity", string(highest))
	for _, n := range notes {
		re := withAttrs(list.CreateElement("rs:RegistryError"), 4, 0)
		re.CreateAttr("codeContext", n.Message())
		re.CreateAttr("errorCode", string(n.Code))
		if n.Location != "" {
			re.CreateAttr("location", n.Location)
		}
		re.CreateAttr("severity", string(n.Severity()))
	}
}

// QueryResponse builds the AdhocQueryResponse.
func QueryResponse(l Listing) *etree.Element {
	resp := etree.NewElement("query:AdhocQueryResponse")
	resp.CreateAttr("xmlns:query", NSQuery)
	resp.CreateAttr("xmlns:rs", NSRS)
	resp.CreateAttr("status", dialect.ListStatus(len(l.Entries), l.Notes))
	notes := l.Notes
	if len(l.Entries) > 0 {
		// Beside listed entries a note is a Warning: an OpenNCP client drops
		// a list that carries an Error (dialect.ListedBesideEntries).
		row, _ := dialect.Lookup(dialect.ListedBesideEntries)
		notes = make([]*ehdsi.Fault, len(l.Notes))
		for i, n := range l.Notes {
			c := *n
			c.Level = row.Severity
			notes[i] = &c
		}
	}
	registryErrors(resp, notes)
	// ebRIM in the default namespace, as OpenNCP writes it: partners' test
	// harnesses match "<ExtrinsicObject " and "<ExternalIdentifier " as text.
	list := resp.CreateElement("RegistryObjectList")
	list.CreateAttr("xmlns", NSRIM)
	for _, e := range l.Entries {
		extrinsicObject(list, e)
	}
	for _, e := range l.Entries {
		target := e.TransformOf
		if target == "" && dialect.SelfTransform(e.ClassCode) {
			// OpenNCP links every original clinical document to itself.
			target = e.UniqueID
		}
		if target == "" {
			continue
		}
		a := withAttrs(list.CreateElement("Association"), 4, 0)
		a.CreateAttr("associationType", assocXFRM)
		a.CreateAttr("id", entryUUID(e.UniqueID+target, "xfrm"))
		a.CreateAttr("sourceObject", entryUUID(e.UniqueID, "eo"))
		a.CreateAttr("targetObject", entryUUID(target, "eo"))
	}
	return resp
}

// DocRequest is one DocumentRequest of a retrieve.
type DocRequest struct{ HomeCommunityID, RepositoryUniqueID, DocumentUniqueID string }

// ParseRetrieve reads a RetrieveDocumentSetRequest body.
func ParseRetrieve(body *etree.Element) ([]DocRequest, error) {
	if body == nil || body.Tag != "RetrieveDocumentSetRequest" || body.NamespaceURI() != NSXDSB {
		return nil, ehdsi.Sender(ehdsi.ErrGeneric, "the SOAP body is not an XDS.b RetrieveDocumentSetRequest", nil)
	}
	var out []DocRequest
	for _, dr := range children(body, NSXDSB, "DocumentRequest") {
		r := DocRequest{}
		if e := child(dr, NSXDSB, "HomeCommunityId"); e != nil {
			r.HomeCommunityID = strings.TrimPrefix(strings.TrimSpace(e.Text()), "urn:oid:")
		}
		if e := child(dr, NSXDSB, "RepositoryUniqueId"); e != nil {
			r.RepositoryUniqueID = strings.TrimSpace(e.Text())
		}
		if e := child(dr, NSXDSB, "DocumentUniqueId"); e != nil {
			r.DocumentUniqueID = strings.TrimSpace(e.Text())
		}
		if r.DocumentUniqueID == "" {
			return nil, ehdsi.Sender(ehdsi.ErrGeneric, "DocumentRequest without DocumentUniqueId", nil)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, ehdsi.Sender(ehdsi.ErrGeneric, "RetrieveDocumentSetRequest without DocumentRequest", nil)
	}
	if len(out) > 10 {
		return nil, ehdsi.Sender(ehdsi.ErrGeneric, fmt.Sprintf("at most 10 documents per retrieve (%d asked)", len(out)), nil)
	}
	return out, nil
}
