package ncpclient

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/wssec"
)

const (
	nsLCM    = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
	nsHL7v3  = "urn:hl7-org:v3"
	nsPharm  = "urn:hl7-org:pharm"
	nsXSI    = "http://www.w3.org/2001/XMLSchema-instance"
	tplED    = "1.3.6.1.4.1.12559.11.10.1.3.1.1.2"
	classED  = "60593-1"
	classEDX = "DISCARD-60593-1"
)

// Dispensed describes an eDispensation a Country B pharmacy sends.
type Dispensed struct {
	DocumentID   wssec.PatientID // root/extension of the eD document id (reuses the II shape)
	Patient      wssec.PatientID // the patient in Country A's id
	PatientGiven string
	PatientName  string
	// Prescription is the Country A prescription (document) id; Item the
	// prescription item id (substanceAdministration id) dispensed.
	Prescription wssec.PatientID
	Item         wssec.PatientID
	ProductCode  string // dispensing country's product code
	ProductName  string
	ATC          string
	Quantity     int
	Pharmacist   string
	Pharmacy     string
	Country      string // ISO 3166 alpha-2 of the pharmacy
	Time         time.Time
}

func add(parent *etree.Element, tag string, attrs ...string) *etree.Element {
	e := parent.CreateElement(tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

// EDocument builds a minimal eHDSI eDispensation CDA (template …1.1.2)
// for one dispensed item, the shape Country B pharmacies send.
func EDocument(d Dispensed) []byte {
	ts := d.Time.UTC().Format("20060102150405+0000")
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	cd := doc.CreateElement("ClinicalDocument")
	cd.CreateAttr("xmlns", nsHL7v3)
	cd.CreateAttr("xmlns:pharm", nsPharm)
	cd.CreateAttr("xmlns:xsi", nsXSI)
	add(cd, "realmCode", "code", d.Country)
	add(cd, "typeId", "root", "2.16.840.1.113883.1.3", "extension", "POCD_HD000040")
	add(cd, "templateId", "root", tplED)
	add(cd, "id", "root", d.DocumentID.Root, "extension", d.DocumentID.Extension)
	add(cd, "code", "code", classED, "codeSystem", "2.16.840.1.113883.6.1", "codeSystemName", "LOINC", "displayName", "eDispensation")
	add(cd, "title").SetText("eDispensation")
	add(cd, "effectiveTime", "value", ts)
	add(cd, "confidentialityCode", "code", "N", "codeSystem", "2.16.840.1.113883.5.25")
	add(cd, "languageCode", "code", "en-GB")
	pr := add(add(cd, "recordTarget"), "patientRole")
	add(pr, "id", "root", d.Patient.Root, "extension", d.Patient.Extension)
	pt := add(pr, "patient")
	n := add(pt, "name")
	add(n, "given").SetText(d.PatientGiven)
	add(n, "family").SetText(d.PatientName)
	author := add(cd, "author")
	add(author, "functionCode", "code", "2262", "codeSystem", "2.16.840.1.113883.2.9.6.2.7", "displayName", "Pharmacists")
	add(author, "time", "value", ts)
	aa := add(author, "assignedAuthor")
	add(aa, "id", "root", "2.999.1", "extension", d.Pharmacist)
	pn := add(add(aa, "assignedPerson"), "name")
	add(pn, "family").SetText(d.Pharmacist)
	org := add(aa, "representedOrganization")
	add(org, "id", "root", "2.999.2", "extension", d.Pharmacy)
	add(org, "name").SetText(d.Pharmacy)
	add(add(org, "addr"), "country").SetText(d.Country)
	cust := add(add(add(cd, "custodian"), "assignedCustodian"), "representedCustodianOrganization")
	add(cust, "id", "root", "2.999.2", "extension", d.Pharmacy)
	add(cust, "name").SetText(d.Pharmacy)
	add(add(cust, "addr"), "country").SetText(d.Country)
	add(add(add(cd, "inFulfillmentOf"), "order", "moodCode", "RQO"), "id", "root", d.Prescription.Root, "extension", d.Prescription.Extension)
	rel := add(cd, "relatedDocument", "typeCode", "XFRM")
	add(add(rel, "parentDocument", "classCode", "DOCCLIN"), "id", "root", d.Prescription.Root, "extension", d.Prescription.Extension)
	sec := add(add(add(cd, "component"), "structuredBody"), "component")
	s := add(sec, "section")
	add(s, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.2.2")
	add(s, "code", "code", classED, "codeSystem", "2.16.840.1.113883.6.1", "displayName", "Medication dispensed")
	add(s, "title").SetText("Dispensed medicines")
	add(s, "text").SetText(fmt.Sprintf("%d × %s", d.Quantity, d.ProductName))
	sp := add(add(s, "entry", "typeCode", "COMP"), "supply", "classCode", "SPLY", "moodCode", "EVN")
	add(sp, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.3")
	add(sp, "id", "root", d.DocumentID.Root+".1", "extension", d.Item.Extension)
	add(sp, "quantity", "value", fmt.Sprint(d.Quantity), "unit", "1")
	mm := add(add(add(sp, "product"), "manufacturedProduct"), "manufacturedMaterial")
	add(mm, "code", "code", d.ProductCode, "codeSystem", "2.999.3", "displayName", d.ProductName)
	add(mm, "name").SetText(d.ProductName)
	if d.ATC != "" {
		gm := add(add(mm, "pharm:asSpecializedKind", "classCode", "GRIC"), "pharm:generalizedMaterialKind", "classCode", "MMAT")
		add(gm, "pharm:code", "code", d.ATC, "codeSystem", "2.16.840.1.113883.6.73", "displayName", d.ATC)
	}
	perf := add(sp, "performer")
	add(perf, "time", "value", ts)
	pae := add(perf, "assignedEntity")
	add(pae, "id", "root", "2.999.1", "extension", d.Pharmacist)
	sa := add(add(sp, "entryRelationship", "typeCode", "REFR"), "substanceAdministration", "classCode", "SBADM", "moodCode", "INT")
	add(sa, "id", "root", d.Item.Root, "extension", d.Item.Extension)
	add(add(add(sa, "consumable"), "manufacturedProduct"), "manufacturedMaterial", "nullFlavor", "NA")
	doc.WriteSettings.CanonicalEndTags = false
	b, _ := doc.WriteToBytes()
	return b
}

// XDRSubmission describes one ITI-41 submission.
type XDRSubmission struct {
	Discard         bool
	Patient         wssec.PatientID
	DocumentUID     string // the eD document unique id (root^extension)
	SubmissionSetID string // an OID
	SourceID        string // the submitting community id
	Document        []byte // the eD CDA
	Now             time.Time
}

// XDRBody builds a ProvideAndRegisterDocumentSetRequest carrying the eD
// inline (base64).
func XDRBody(s XDRSubmission) *etree.Element {
	class := classED
	if s.Discard {
		class = classEDX
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	entry := "urn:uuid:" + uuid()
	req := etree.NewElement("xdsb:ProvideAndRegisterDocumentSetRequest")
	req.CreateAttr("xmlns:xdsb", nsXDSB)
	req.CreateAttr("xmlns:lcm", nsLCM)
	req.CreateAttr("xmlns:rim", nsRIM)
	list := req.CreateElement("lcm:SubmitObjectsRequest").CreateElement("rim:RegistryObjectList")
	eo := add(list, "rim:ExtrinsicObject", "id", entry, "mimeType", "text/xml", "objectType", "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1")
	slot := func(parent *etree.Element, name, value string) {
		s := add(parent, "rim:Slot", "name", name)
		s.CreateElement("rim:ValueList").CreateElement("rim:Value").SetText(value)
	}
	slot(eo, "creationTime", s.Now.UTC().Format("20060102150405"))
	slot(eo, "languageCode", "en-GB")
	slot(eo, "sourcePatientId", s.Patient.String())
	cl := add(eo, "rim:Classification", "classificationScheme", "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
		"classifiedObject", entry, "id", "urn:uuid:"+uuid(), "nodeRepresentation", class)
	slot(cl, "codingScheme", "2.16.840.1.113883.6.1")
	add(add(cl, "rim:Name"), "rim:LocalizedString", "value", "eDispensation")
	fc := add(eo, "rim:Classification", "classificationScheme", "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
		"classifiedObject", entry, "id", "urn:uuid:"+uuid(), "nodeRepresentation", "urn:epSOS:ep:dis:2010")
	slot(fc, "codingScheme", "eHDSI formatCodes")
	add(eo, "rim:ExternalIdentifier", "id", "urn:uuid:"+uuid(), "identificationScheme", "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
		"registryObject", entry, "value", s.Patient.String())
	add(eo, "rim:ExternalIdentifier", "id", "urn:uuid:"+uuid(), "identificationScheme", "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
		"registryObject", entry, "value", s.DocumentUID)
	rp := add(list, "rim:RegistryPackage", "id", "SubmissionSet", "objectType", "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd")
	slot(rp, "submissionTime", s.Now.UTC().Format("20060102150405"))
	add(rp, "rim:ExternalIdentifier", "id", "urn:uuid:"+uuid(), "identificationScheme", "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
		"registryObject", "SubmissionSet", "value", s.SubmissionSetID)
	add(rp, "rim:ExternalIdentifier", "id", "urn:uuid:"+uuid(), "identificationScheme", "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
		"registryObject", "SubmissionSet", "value", s.Patient.String())
	add(rp, "rim:ExternalIdentifier", "id", "urn:uuid:"+uuid(), "identificationScheme", "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
		"registryObject", "SubmissionSet", "value", s.SourceID)
	add(list, "rim:Classification", "classificationNode", "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd", "classifiedObject", "SubmissionSet", "id", "urn:uuid:"+uuid())
	as := add(list, "rim:Association", "associationType", "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
		"id", "urn:uuid:"+uuid(), "sourceObject", "SubmissionSet", "targetObject", entry)
	slot(as, "SubmissionSetStatus", "Original")
	d := req.CreateElement("xdsb:Document")
	d.CreateAttr("id", entry)
	d.SetText(base64.StdEncoding.EncodeToString(s.Document))
	return req
}

// ParseRegistryResponse reads an XDR RegistryResponse.
func ParseRegistryResponse(body *etree.Element) (status string, errs []RegistryError) {
	if body == nil {
		return "", nil
	}
	status = body.SelectAttrValue("status", "")
	for _, re := range body.FindElements(".//RegistryError") {
		errs = append(errs, RegistryError{re.SelectAttrValue("errorCode", ""), re.SelectAttrValue("codeContext", ""), re.SelectAttrValue("severity", ""), re.SelectAttrValue("location", "")})
	}
	return status, errs
}

// IsSuccess reports whether an ebRS status is Success.
func IsSuccess(status string) bool { return strings.HasSuffix(status, ":Success") }
