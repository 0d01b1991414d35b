package ncpclient

import (
	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/wssec"
)

const (
	nsRIM   = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
	nsQuery = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
	nsXDSB  = "urn:ihe:iti:xds-b:2007"

	schemeEventCode = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
)

// XCAQueryBody builds a FindDocuments AdhocQueryRequest for a patient and
// class code (LOINC: 60591-5, 57833-6, 11502-2, …). ebRIM is written in the
// default namespace, as OpenNCP's client writes it (`<AdhocQuery `, `<Slot `
// with no prefix): partners' harnesses match the request as text
// (docs/dialect.md, "Serialisation and ids").
func XCAQueryBody(patient wssec.PatientID, classCode string) *etree.Element {
	req := etree.NewElement("query:AdhocQueryRequest")
	req.CreateAttr("xmlns", nsRIM)
	req.CreateAttr("xmlns:query", nsQuery)
	ro := req.CreateElement("query:ResponseOption")
	ro.CreateAttr("returnComposedObjects", "true")
	ro.CreateAttr("returnType", "LeafClass")
	aq := req.CreateElement("AdhocQuery")
	aq.CreateAttr("id", "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d")
	slot := func(name, value string) {
		s := aq.CreateElement("Slot")
		s.CreateAttr("name", name)
		s.CreateElement("ValueList").CreateElement("Value").SetText(value)
	}
	slot("$XDSDocumentEntryPatientId", "'"+patient.String()+"'")
	slot("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')")
	slot("$XDSDocumentEntryClassCode", "('"+classCode+"^^2.16.840.1.113883.6.1')")
	return req
}

// DocRef names one document to retrieve.
type DocRef struct{ HomeCommunityID, RepositoryUniqueID, DocumentUniqueID string }

// XCARetrieveBody builds a RetrieveDocumentSetRequest.
func XCARetrieveBody(docs ...DocRef) *etree.Element {
	req := etree.NewElement("xdsb:RetrieveDocumentSetRequest")
	req.CreateAttr("xmlns:xdsb", nsXDSB)
	for _, d := range docs {
		dr := req.CreateElement("xdsb:DocumentRequest")
		if d.HomeCommunityID != "" {
			dr.CreateElement("xdsb:HomeCommunityId").SetText("urn:oid:" + d.HomeCommunityID)
		}
		dr.CreateElement("xdsb:RepositoryUniqueId").SetText(d.RepositoryUniqueID)
		dr.CreateElement("xdsb:DocumentUniqueId").SetText(d.DocumentUniqueID)
	}
	return req
}

// ListedDocument is one ExtrinsicObject of a query response, as a client
// reads it.
type ListedDocument struct {
	UniqueID, RepositoryUniqueID, HomeCommunityID string
	ClassCode, FormatCode, Title, Description     string
	MimeType, CreationTime, PatientID             string
	// L1 is true for PDF-embedded (L1) documents; TransformOf names the L3
	// document an L1 renders.
	L1          bool
	TransformOf string
	// Dispensable is true when the entry's eventCodeList carries OpenNCP's
	// open flag (dialect.EventOpen). Like an OpenNCP client, a missing flag
	// or the closed one (an expired, fully dispensed … ePrescription,
	// listed to be read) is not dispensable.
	Dispensable bool
}

// Errors of a registry response (RegistryError elements).
type RegistryError struct{ Code, Context, Severity, Location string }

// ParseQueryResponse reads an AdhocQueryResponse.
func ParseQueryResponse(body *etree.Element) (status string, docs []ListedDocument, errs []RegistryError) {
	if body == nil {
		return "", nil, nil
	}
	status = body.SelectAttrValue("status", "")
	found := below(body, "RegistryError", "ExtrinsicObject", "Association")
	for _, re := range found[0] {
		errs = append(errs, RegistryError{re.SelectAttrValue("errorCode", ""), re.SelectAttrValue("codeContext", ""), re.SelectAttrValue("severity", ""), re.SelectAttrValue("location", "")})
	}
	byObj := make(map[string]int, len(found[1]))
	for _, eo := range found[1] {
		d := ListedDocument{HomeCommunityID: trimOID(eo.SelectAttrValue("home", "")), MimeType: eo.SelectAttrValue("mimeType", "")}
		for _, s := range eo.SelectElements("Slot") {
			v := ""
			if e := s.FindElement("./ValueList/Value"); e != nil {
				v = e.Text()
			}
			switch s.SelectAttrValue("name", "") {
			case "repositoryUniqueId":
				d.RepositoryUniqueID = v
			case "creationTime":
				d.CreationTime = v
			case "sourcePatientId":
				d.PatientID = v
			}
		}
		if n := eo.FindElement("./Name/LocalizedString"); n != nil {
			d.Title = n.SelectAttrValue("value", "")
		}
		if n := eo.FindElement("./Description/LocalizedString"); n != nil {
			d.Description = n.SelectAttrValue("value", "")
		}
		for _, c := range eo.SelectElements("Classification") {
			switch c.SelectAttrValue("classificationScheme", "") {
			case "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a":
				d.ClassCode = c.SelectAttrValue("nodeRepresentation", "")
			case "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d":
				d.FormatCode = c.SelectAttrValue("nodeRepresentation", "")
				d.L1 = d.FormatCode == dialect.FormatPDF || d.FormatCode == dialect.FormatOrCDPDF
			case schemeEventCode:
				if c.SelectAttrValue("nodeRepresentation", "") == dialect.EventOpen {
					d.Dispensable = true
				}
			}
		}
		for _, x := range eo.SelectElements("ExternalIdentifier") {
			if x.SelectAttrValue("identificationScheme", "") == "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" {
				d.UniqueID = x.SelectAttrValue("value", "")
			}
		}
		byObj[eo.SelectAttrValue("id", "")] = len(docs)
		docs = append(docs, d)
	}
	for _, a := range found[2] {
		if a.SelectAttrValue("associationType", "") != "urn:ihe:iti:2007:AssociationType:XFRM" {
			continue
		}
		src, ok1 := byObj[a.SelectAttrValue("sourceObject", "")]
		dst, ok2 := byObj[a.SelectAttrValue("targetObject", "")]
		// OpenNCP links each original clinical document to itself: that is
		// no rendering of another document.
		if ok1 && ok2 && src != dst {
			docs[src].TransformOf = docs[dst].UniqueID
		}
	}
	return status, docs, errs
}

// below returns, for each of tags, the elements of that tag (any prefix)
// in el's subtree, in the order FindElements(".//"+tag) returns them
// (breadth first by parent, children in document order) — in one walk,
// without the path engine's queue and candidate lists per tag.
func below(el *etree.Element, tags ...string) [][]*etree.Element {
	found := make([][]*etree.Element, len(tags))
	queue := []*etree.Element{el}
	for i := 0; i < len(queue); i++ {
		for _, c := range queue[i].Child {
			e, ok := c.(*etree.Element)
			if !ok {
				continue
			}
			for t, tag := range tags {
				if e.Tag == tag {
					found[t] = append(found[t], e)
				}
			}
			queue = append(queue, e)
		}
	}
	return found
}

func trimOID(s string) string {
	if len(s) > 8 && s[:8] == "urn:oid:" {
		return s[8:]
	}
	return s
}

// RetrievedDocument is one DocumentResponse.
type RetrievedDocument struct {
	HomeCommunityID, RepositoryUniqueID, UniqueID, MimeType string
	Data                                                    []byte
}

// ParseRetrieveResponse reads a RetrieveDocumentSetResponse (inline base64
// or MTOM/XOP parts alike).
func ParseRetrieveResponse(env interface {
	Content(*etree.Element) ([]byte, error)
}, body *etree.Element) (status string, docs []RetrievedDocument, errs []RegistryError, err error) {
	if body == nil {
		return "", nil, nil, nil
	}
	if rr := body.FindElement("./RegistryResponse"); rr != nil {
		status = rr.SelectAttrValue("status", "")
	}
	for _, re := range body.FindElements(".//RegistryError") {
		errs = append(errs, RegistryError{re.SelectAttrValue("errorCode", ""), re.SelectAttrValue("codeContext", ""), re.SelectAttrValue("severity", ""), re.SelectAttrValue("location", "")})
	}
	for _, dr := range body.SelectElements("DocumentResponse") {
		d := RetrievedDocument{}
		if e := dr.SelectElement("HomeCommunityId"); e != nil {
			d.HomeCommunityID = trimOID(e.Text())
		}
		if e := dr.SelectElement("RepositoryUniqueId"); e != nil {
			d.RepositoryUniqueID = e.Text()
		}
		if e := dr.SelectElement("DocumentUniqueId"); e != nil {
			d.UniqueID = e.Text()
		}
		if e := dr.SelectElement("mimeType"); e != nil {
			d.MimeType = e.Text()
		}
		if e := dr.SelectElement("Document"); e != nil {
			if d.Data, err = env.Content(e); err != nil {
				return status, docs, errs, err
			}
		}
		docs = append(docs, d)
	}
	return status, docs, errs, nil
}
