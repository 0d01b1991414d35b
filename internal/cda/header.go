package cda

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Namespaces of pivot CDA documents.
const (
	NSHL7   = "urn:hl7-org:v3"
	NSPharm = "urn:hl7-org:pharm"
	NSXSI   = "http://www.w3.org/2001/XMLSchema-instance"
)

// Code systems the builders write directly.
const (
	OIDLOINC           = "2.16.840.1.113883.6.1"
	OIDConfidentiality = "2.16.840.1.113883.5.25"
	OIDGender          = "2.16.840.1.113883.5.1"
	OIDISCO            = "2.16.840.1.113883.2.9.6.2.7"
	OIDATC             = "2.16.840.1.113883.6.73"
	OIDEDQM            = "0.4.0.127.0.16.1.1.2.1"
	OIDActCode         = "2.16.840.1.113883.5.4"
	OIDActPriority     = "2.16.840.1.113883.5.7"
	OIDSubstitution    = "2.16.840.1.113883.5.1070"
	OIDActClass        = "2.16.840.1.113883.5.6"
	OIDIHEActCode      = "1.3.6.1.4.1.19376.1.5.3.2"
	OIDUCUM            = "2.16.840.1.113883.6.8"
)

// Value sets of the header's coded elements (eHDSI MVC).
const (
	VSDocumentCode     = "1.3.6.1.4.1.12559.11.10.1.3.1.42.32"
	VSConfidentiality  = "1.3.6.1.4.1.12559.11.10.1.3.1.42.31"
	VSGender           = "1.3.6.1.4.1.12559.11.10.1.3.1.42.34"
	VSProfessionalRole = "1.3.6.1.4.1.12559.11.10.1.3.1.42.1"
	VSSection          = "1.3.6.1.4.1.12559.11.10.1.3.1.42.26"
	VSSubstitution     = "1.3.6.1.4.1.12559.11.10.1.3.1.42.7"
)

// ErrMissing is wrapped by errors about a required input that is absent
// (eHDSI ERROR_*_MISSING_REQUIRED_FIELDS).
var ErrMissing = errors.New("missing required field")

// Document is a pivot CDA document under construction.
type Document struct {
	doc  *etree.Document
	Root *etree.Element
}

// NewDocument writes the CDA header of h (realmCode … relatedDocument) and
// returns the document, ready for a body. Coded header elements go through
// term with the usage of h.Doc; a Required one that does not map fails with
// a *TranscodeError.
func NewDocument(h Header, term Terminology) (*Document, error) {
	if h.ID.Root == "" {
		return nil, missing("document id")
	}
	if len(h.Patient.IDs) == 0 {
		return nil, missing("patient id")
	}
	if len(h.Authors) == 0 {
		return nil, missing("author")
	}
	doc, root := newClinicalDocument()
	if h.Realm != "" {
		root.CreateElement("realmCode").CreateAttr("code", h.Realm)
	}
	typeID := root.CreateElement("typeId")
	typeID.CreateAttr("root", "2.16.840.1.113883.1.3")
	typeID.CreateAttr("extension", "POCD_HD000040")
	for _, t := range h.TemplateIDs {
		AppendTemplateID(root, t)
	}
	AppendII(root, "id", h.ID)

	code, err := Transcode(term, Spec{"/ClinicalDocument/code", VSDocumentCode, terminology.UsageRequired}, h.Code, "")
	if err != nil {
		return nil, err
	}
	AppendCoded(root, "code", code)
	root.CreateElement("title").SetText(h.Title)
	AppendTS(root, "effectiveTime", TS(h.EffectiveTime))
	conf := h.Confidentiality
	if conf == "" {
		conf = "N"
	}
	cc, err := Transcode(term, Spec{"/ClinicalDocument/confidentialityCode", VSConfidentiality, terminology.UsageRNFA},
		terminology.Coding{Code: conf, System: OIDConfidentiality}, "")
	if err != nil {
		return nil, err
	}
	AppendCoded(root, "confidentialityCode", cc)
	lang := h.Language
	if lang == "" {
		lang = "en-GB"
	}
	root.CreateElement("languageCode").CreateAttr("code", lang)
	set := h.SetID
	if set.Root == "" {
		set = h.ID
	}
	AppendII(root, "setId", set)
	v := h.Version
	if v <= 0 {
		v = 1
	}
	root.CreateElement("versionNumber").CreateAttr("value", strconv.Itoa(v))

	if err := appendRecordTarget(root, h.Patient, term); err != nil {
		return nil, err
	}
	fnUsage := terminology.UsageOptional
	if h.Doc == terminology.DocEP || h.Doc == terminology.DocEPL1 {
		fnUsage = terminology.UsageRequired
	}
	for _, a := range h.Authors {
		if err := appendAuthor(root, a, fnUsage, term); err != nil {
			return nil, err
		}
	}
	cust := root.CreateElement("custodian")
	cust.CreateAttr("typeCode", "CST")
	ac := cust.CreateElement("assignedCustodian")
	ac.CreateAttr("classCode", "ASSIGNED")
	AppendOrganization(ac, "representedCustodianOrganization", h.Custodian)

	la := root.CreateElement("legalAuthenticator")
	la.CreateAttr("contextControlCode", "OP")
	la.CreateAttr("typeCode", "LA")
	laTime := h.LegalAuthTime
	if laTime.IsZero() {
		laTime = h.EffectiveTime
	}
	AppendTS(la, "time", TS(laTime))
	la.CreateElement("signatureCode").CreateAttr("code", "S")
	ae := la.CreateElement("assignedEntity")
	ae.CreateAttr("classCode", "ASSIGNED")
	appendProfessional(ae, h.LegalAuthenticator)

	for _, p := range h.Participants {
		root.AddChild(p)
	}
	for _, o := range h.InFulfillmentOf {
		ff := root.CreateElement("inFulfillmentOf")
		ff.CreateAttr("typeCode", "FLFS")
		ord := ff.CreateElement("order")
		ord.CreateAttr("classCode", "ACT")
		ord.CreateAttr("moodCode", "RQO")
		AppendII(ord, "id", o)
	}
	if se := h.ServiceEvent; se != nil {
		dof := root.CreateElement("documentationOf")
		dof.CreateAttr("typeCode", "DOC")
		ev := dof.CreateElement("serviceEvent")
		cls := se.ClassCode
		if cls == "" {
			cls = "PCPR"
		}
		ev.CreateAttr("classCode", cls)
		ev.CreateAttr("moodCode", "EVN")
		if se.Code != nil {
			AppendCoded(ev, "code", MVCOnly(*se.Code))
		}
		AppendIVLTS(ev, "effectiveTime", tsOrEmpty(se.Low), tsOrEmpty(se.High))
	}
	if h.ParentDocument != nil {
		rd := root.CreateElement("relatedDocument")
		rd.CreateAttr("typeCode", "XFRM")
		pd := rd.CreateElement("parentDocument")
		pd.CreateAttr("classCode", "DOCCLIN")
		pd.CreateAttr("moodCode", "EVN")
		AppendII(pd, "id", *h.ParentDocument)
	}
	return &Document{doc: doc, Root: root}, nil
}

// StructuredBody appends component/structuredBody and returns the body.
func (d *Document) StructuredBody() *etree.Element {
	c := d.Root.CreateElement("component")
	c.CreateAttr("typeCode", "COMP")
	c.CreateAttr("contextConductionInd", "true")
	b := c.CreateElement("structuredBody")
	b.CreateAttr("classCode", "DOCBODY")
	b.CreateAttr("moodCode", "EVN")
	return b
}

// Bytes serialises the document (UTF-8, two-space indentation). Same tree,
// same bytes.
func (d *Document) Bytes() ([]byte, error) {
	d.doc.Indent(2)
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	if _, err := d.doc.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func tsOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return TS(t)
}

func missing(what string) error { return &InputError{Field: what, Err: ErrMissing} }

// InputError reports a national input that lacks something the pivot
// document requires (eHDSI ERROR_*_MISSING_REQUIRED_FIELDS) or is malformed.
type InputError struct {
	Field string
	Err   error
}

func (e *InputError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// newClinicalDocument starts a CDA document: the XML declaration and a
// ClinicalDocument declaring HL7 (default), pharm: and xsi:.
func newClinicalDocument() (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("ClinicalDocument")
	root.CreateAttr("xmlns", NSHL7)
	root.CreateAttr("xmlns:pharm", NSPharm)
	root.CreateAttr("xmlns:xsi", NSXSI)
	root.CreateAttr("classCode", "DOCCLIN")
	root.CreateAttr("moodCode", "EVN")
	return doc, root
}

// AppendTemplateID writes <templateId root="root"/>.
func AppendTemplateID(parent *etree.Element, root string) *etree.Element {
	el := parent.CreateElement("templateId")
	el.CreateAttr("root", root)
	return el
}

// AppendII writes an II element; an empty root is written as nullFlavor NI.
func AppendII(parent *etree.Element, tag string, id II) *etree.Element {
	el := parent.CreateElement(tag)
	if id.Root == "" {
		el.CreateAttr("nullFlavor", "NI")
		return el
	}
	el.CreateAttr("root", id.Root)
	if id.Extension != "" {
		el.CreateAttr("extension", id.Extension)
	}
	return el
}

// AppendTS writes <tag value="ts"/>, or nullFlavor UNK when ts is empty.
func AppendTS(parent *etree.Element, tag, ts string) *etree.Element {
	el := parent.CreateElement(tag)
	if ts == "" {
		el.CreateAttr("nullFlavor", "UNK")
	} else {
		el.CreateAttr("value", ts)
	}
	return el
}

// AppendIVLTS writes an interval <tag><low/><high/></tag>; empty bounds are
// nullFlavor UNK. With xsiType, @xsi:type="IVL_TS" is added.
func AppendIVLTS(parent *etree.Element, tag, low, high string, xsiType ...bool) *etree.Element {
	el := parent.CreateElement(tag)
	if len(xsiType) > 0 && xsiType[0] {
		el.CreateAttr("xsi:type", "IVL_TS")
	}
	AppendTS(el, "low", low)
	AppendTS(el, "high", high)
	return el
}

// AppendName writes a PN.
func AppendName(parent *etree.Element, n Name) *etree.Element {
	el := parent.CreateElement("name")
	for _, p := range n.Prefix {
		el.CreateElement("prefix").SetText(p)
	}
	for _, g := range n.Given {
		el.CreateElement("given").SetText(g)
	}
	if n.Family != "" {
		el.CreateElement("family").SetText(n.Family)
	}
	return el
}

// AppendAddr writes an AD; an empty address is nullFlavor NI.
func AppendAddr(parent *etree.Element, a Address) *etree.Element {
	el := parent.CreateElement("addr")
	if a.IsZero() {
		el.CreateAttr("nullFlavor", "NI")
		return el
	}
	if a.Use != "" {
		el.CreateAttr("use", a.Use)
	}
	for _, l := range a.Lines {
		el.CreateElement("streetAddressLine").SetText(l)
	}
	if a.City != "" {
		el.CreateElement("city").SetText(a.City)
	}
	if a.PostalCode != "" {
		el.CreateElement("postalCode").SetText(a.PostalCode)
	}
	if a.State != "" {
		el.CreateElement("state").SetText(a.State)
	}
	if a.Country != "" {
		el.CreateElement("country").SetText(a.Country)
	}
	return el
}

// AppendTelecoms writes the telecoms, or one telecom nullFlavor NI when
// there are none.
func AppendTelecoms(parent *etree.Element, ts []Telecom) {
	if len(ts) == 0 {
		AppendNull(parent, "telecom", "NI")
		return
	}
	for _, t := range ts {
		el := parent.CreateElement("telecom")
		if t.Use != "" {
			el.CreateAttr("use", t.Use)
		}
		el.CreateAttr("value", t.Value)
	}
}

// AppendOrganization writes an organisation (id, name, telecom, addr) as
// tag under parent, the shape eHDSIOrganization and eHDSICustodian require.
func AppendOrganization(parent *etree.Element, tag string, o Organization) *etree.Element {
	el := parent.CreateElement(tag)
	el.CreateAttr("classCode", "ORG")
	el.CreateAttr("determinerCode", "INSTANCE")
	if len(o.IDs) == 0 {
		AppendNull(el, "id", "NI")
	}
	for _, id := range o.IDs {
		AppendII(el, "id", id)
	}
	el.CreateElement("name").SetText(o.Name)
	AppendTelecoms(el, o.Telecoms)
	AppendAddr(el, o.Addr)
	return el
}

// appendProfessional writes id*, addr, telecom, assignedPerson and
// representedOrganization into an assignedAuthor / assignedEntity.
func appendProfessional(el *etree.Element, p Professional) {
	if len(p.IDs) == 0 {
		AppendNull(el, "id", "NI")
	}
	for _, id := range p.IDs {
		AppendII(el, "id", id)
	}
	AppendAddr(el, p.Addr)
	AppendTelecoms(el, p.Telecoms)
	ap := el.CreateElement("assignedPerson")
	ap.CreateAttr("classCode", "PSN")
	ap.CreateAttr("determinerCode", "INSTANCE")
	AppendName(ap, p.Name)
	AppendOrganization(el, "representedOrganization", p.Organization)
}

// AppendProfessional writes a professional as an assignedEntity-like
// element tag under parent (used for performers).
func AppendProfessional(parent *etree.Element, tag string, p Professional) *etree.Element {
	el := parent.CreateElement(tag)
	el.CreateAttr("classCode", "ASSIGNED")
	appendProfessional(el, p)
	return el
}

func appendAuthor(root *etree.Element, a Author, fnUsage terminology.Usage, term Terminology) error {
	au := root.CreateElement("author")
	au.CreateAttr("typeCode", "AUT")
	au.CreateAttr("contextControlCode", "OP")
	fn, err := Transcode(term, Spec{"//author/functionCode", VSProfessionalRole, fnUsage}, a.Function, "")
	if err != nil {
		return err
	}
	if fn.Null == "" {
		AppendCoded(au, "functionCode", fn)
	}
	AppendTS(au, "time", TS(a.Time))
	aa := au.CreateElement("assignedAuthor")
	aa.CreateAttr("classCode", "ASSIGNED")
	appendProfessional(aa, a.Professional)
	return nil
}

// HL7Gender maps a FHIR administrative gender to HL7 AdministrativeGender;
// "" for unknown.
func HL7Gender(g string) string {
	switch g {
	case "male", "M":
		return "M"
	case "female", "F":
		return "F"
	case "other", "UN":
		return "UN"
	}
	return ""
}

func appendRecordTarget(root *etree.Element, p Patient, term Terminology) error {
	rt := root.CreateElement("recordTarget")
	rt.CreateAttr("typeCode", "RCT")
	rt.CreateAttr("contextControlCode", "OP")
	pr := rt.CreateElement("patientRole")
	pr.CreateAttr("classCode", "PAT")
	for _, id := range p.IDs {
		AppendII(pr, "id", id)
	}
	AppendAddr(pr, p.Addr)
	AppendTelecoms(pr, p.Telecoms)
	pt := pr.CreateElement("patient")
	pt.CreateAttr("classCode", "PSN")
	pt.CreateAttr("determinerCode", "INSTANCE")
	AppendName(pt, p.Name)
	g := HL7Gender(p.Gender)
	gc, err := Transcode(term, Spec{"/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode", VSGender, terminology.UsageRNFA},
		terminology.Coding{Code: g, System: OIDGender}, "")
	if err != nil {
		return err
	}
	if gc.Null != "" {
		gc = Coded{Null: "UNK"}
	}
	AppendCoded(pt, "administrativeGenderCode", gc)
	AppendTS(pt, "birthTime", DateTS(p.Birth))
	if p.Language != "" {
		lc := pt.CreateElement("languageCommunication")
		lc.CreateElement("languageCode").CreateAttr("code", p.Language)
	}
	return nil
}
