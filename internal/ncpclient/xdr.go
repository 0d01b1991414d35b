package ncpclient

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/wssec"
)

const (
	nsLCM    = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
	classED  = "60593-1"
	classEDX = "DISCARD-60593-1"
)

// Dispensed describes an eDispensation a Country B pharmacy sends.
type Dispensed struct {
	DocumentID   wssec.PatientID // root/extension of the eD document id (reuses the II shape)
	Patient      wssec.PatientID // the patient in Country A's id
	PatientGiven string
	PatientName  string
	// PatientBirthDate is YYYY-MM-DD (eHDSI requires it; with a Luxembourg
	// matricule it defaults to the date the matricule starts with).
	PatientBirthDate string
	// Prescription is the Country A prescription (document) id; Item the
	// prescription item id (substanceAdministration id) dispensed.
	Prescription wssec.PatientID
	Item         wssec.PatientID
	ProductCode  string // dispensing country's product code
	ProductName  string
	ATC          string
	// Strength, when its Value is set, is the active ingredient's strength
	// (pharm:ingredient/pharm:quantity): Strength per Per, Per 1 unit when
	// unset.
	Strength, Per Amount
	Quantity      int
	Pharmacist    string
	Pharmacy      string
	Country       string // ISO 3166 alpha-2 of the pharmacy
	Time          time.Time
}

// Amount is a physical quantity as written in the document: a decimal
// value and a UCUM unit ("1" when empty).
type Amount struct{ Value, Unit string }

func (a Amount) pq(parent *etree.Element, tag string) {
	u := a.Unit
	if u == "" {
		u = "1"
	}
	v := a.Value
	if v == "" {
		v = "1"
	}
	add(parent, tag, "xsi:type", "PQ", "value", v, "unit", u)
}

func add(parent *etree.Element, tag string, attrs ...string) *etree.Element {
	e := parent.CreateElement(tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

// EDocument builds an eHDSI eDispensation CDA (template …1.1.2) for one
// dispensed item, the shape Country B pharmacies send, on the one
// eDispensation skeleton (cda.EDSkeleton); it passes the eHDSI XSD and
// schematron (tested).
func EDocument(d Dispensed) []byte {
	rt := etree.NewElement("recordTarget")
	rt.CreateAttr("typeCode", "RCT")
	rt.CreateAttr("contextControlCode", "OP")
	pr := add(rt, "patientRole", "classCode", "PAT")
	pr.AddChild(cda.NewII("id", ii(d.Patient)))
	add(pr, "addr", "nullFlavor", "NI")
	add(pr, "telecom", "nullFlavor", "NI")
	pt := add(pr, "patient", "classCode", "PSN", "determinerCode", "INSTANCE")
	n := add(pt, "name")
	if d.PatientGiven != "" {
		add(n, "given").SetText(d.PatientGiven)
	} else {
		add(n, "given", "nullFlavor", "NI")
	}
	add(n, "family").SetText(d.PatientName)
	add(pt, "administrativeGenderCode", "nullFlavor", "UNK")
	bd := strings.ReplaceAll(d.PatientBirthDate, "-", "")
	if bd == "" && d.Patient.Root == "1.3.182.4.4" && len(d.Patient.Extension) >= 8 {
		bd = d.Patient.Extension[:8]
	}
	if bd == "" {
		bd = "19000101"
	}
	add(pt, "birthTime", "value", bd)

	given, family, ok := strings.Cut(d.Pharmacist, " ")
	if !ok {
		given, family = d.Pharmacist, d.Pharmacist
	}
	const tel = "tel:+00-0000-0000"
	pharmacy := cda.EDOrganisation{ID: cda.II{Root: "2.999.2", Extension: d.Pharmacy}, Name: d.Pharmacy, Telecom: tel}

	text := etree.NewElement("text")
	add(text, "paragraph", "ID", "disp-1").SetText(fmt.Sprintf("%d × %s", d.Quantity, d.ProductName))
	product := func(code bool) *etree.Element {
		mp := etree.NewElement("manufacturedProduct")
		mp.CreateAttr("classCode", "MANU")
		add(mp, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.29")
		mm := add(mp, "manufacturedMaterial", "classCode", "MMAT", "determinerCode", "KIND")
		add(mm, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.3.30")
		if code {
			add(mm, "code", "code", d.ProductCode, "codeSystem", "2.999.3", "displayName", d.ProductName)
		}
		add(mm, "name").SetText(d.ProductName)
		add(mm, "pharm:formCode", "nullFlavor", "NI")
		ac := add(mm, "pharm:asContent", "classCode", "CONT")
		add(ac, "pharm:quantity", "value", "1", "unit", "1")
		cpp := add(ac, "pharm:containerPackagedProduct", "classCode", "CONT", "determinerCode", "KIND")
		add(cpp, "pharm:formCode", "nullFlavor", "NI")
		if code && d.ATC != "" {
			gm := add(add(mm, "pharm:asSpecializedKind", "classCode", "GRIC"), "pharm:generalizedMaterialKind", "classCode", "MMAT", "determinerCode", "KIND")
			add(gm, "pharm:code", "code", d.ATC, "codeSystem", "2.16.840.1.113883.6.73", "codeSystemName", "ATC", "displayName", d.ATC)
		}
		if code && d.Strength.Value != "" {
			ing := add(mm, "pharm:ingredient", "classCode", "ACTI")
			q := add(ing, "pharm:quantity")
			d.Strength.pq(q, "numerator")
			d.Per.pq(q, "denominator")
			sub := add(ing, "pharm:ingredientSubstance", "classCode", "MMAT", "determinerCode", "KIND")
			if d.ATC != "" {
				add(sub, "pharm:code", "code", d.ATC, "codeSystem", "2.16.840.1.113883.6.73", "codeSystemName", "ATC", "displayName", d.ATC)
			} else {
				add(sub, "pharm:code", "nullFlavor", "NI")
			}
			add(sub, "pharm:name").SetText(d.ProductName)
		}
		return mp
	}
	b, _ := cda.EDSkeleton{
		ID: ii(d.DocumentID), Time: d.Time, Language: "en-GB", Country: d.Country, RecordTarget: rt,
		Pharmacist: cda.EDProfessional{ID: cda.II{Root: "2.999.1", Extension: d.Pharmacist}, Given: given, Family: family, Telecom: tel, Organisation: pharmacy},
		Custodian:  pharmacy,
		OrderID:    cda.NewII("id", ii(d.Prescription)), ParentID: cda.NewII("id", ii(d.Prescription)), ItemID: cda.NewII("id", ii(d.Item)),
		SectionID: cda.II{Root: d.DocumentID.Root + ".2", Extension: d.DocumentID.Extension},
		SupplyID:  cda.II{Root: d.DocumentID.Root + ".1", Extension: d.Item.Extension},
		Narrative: text, Quantity: d.Quantity, Product: product(true), Prescribed: product(false),
	}.Build()
	return b
}

// ii is the HL7 II of an id given in the PatientID shape.
func ii(id wssec.PatientID) cda.II { return cda.II{Root: id.Root, Extension: id.Extension} }

// XDRSubmission describes one ITI-41 submission.
type XDRSubmission struct {
	Discard         bool
	Patient         wssec.PatientID
	DocumentUID     string // the eD document unique id (root^extension)
	SubmissionSetID string // an OID
	SourceID        string // the submitting community id
	Document        []byte // the eD CDA
	Language        string // languageCode of the entry (default en-GB)
	Now             time.Time
}

// XDRBody builds the ProvideAndRegisterDocumentSetRequest of an
// eDispensation submit or discard with the document inline (base64): the
// one builder Country B, the CLI, the conformance suite and the tests use.
// The class code is 60593-1 (DISCARD-60593-1 for a discard) and the
// formatCode the one OpenNCP dispatches on (dialect.EDFormat). Object ids
// are symbolic (Document01, SubmissionSet01), so same input, same bytes.
func XDRBody(s XDRSubmission) *etree.Element {
	class := classED
	if s.Discard {
		class = classEDX
	}
	if s.Now.IsZero() {
		s.Now = clock.Now()
	}
	lang := s.Language
	if lang == "" {
		lang = "en-GB"
	}
	const entry, set = "Document01", "SubmissionSet01"
	ts := s.Now.UTC().Format("20060102150405")
	req := etree.NewElement("xdsb:ProvideAndRegisterDocumentSetRequest")
	req.CreateAttr("xmlns:xdsb", nsXDSB)
	req.CreateAttr("xmlns:lcm", nsLCM)
	// ebRIM in the default namespace, as OpenNCP writes it (partners match
	// the text).
	list := req.CreateElement("lcm:SubmitObjectsRequest").CreateElement("RegistryObjectList")
	list.CreateAttr("xmlns", nsRIM)
	slot := func(parent *etree.Element, name, value string) {
		s := add(parent, "Slot", "name", name)
		s.CreateElement("ValueList").CreateElement("Value").SetText(value)
	}
	named := func(parent *etree.Element, v string) {
		add(parent.CreateElement("Name"), "LocalizedString", "value", v)
	}
	classify := func(parent *etree.Element, id, scheme, obj string, c dialect.Coded) {
		cl := add(parent, "Classification", "classificationScheme", scheme, "classifiedObject", obj, "id", id, "nodeRepresentation", c.Code)
		slot(cl, "codingScheme", c.Scheme)
		named(cl, c.Display)
	}
	extID := func(parent *etree.Element, id, scheme, obj, v, name string) {
		named(add(parent, "ExternalIdentifier", "id", id, "identificationScheme", scheme, "registryObject", obj, "value", v), name)
	}
	eo := add(list, "ExtrinsicObject", "id", entry, "mimeType", "text/xml", "objectType", "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1")
	slot(eo, "creationTime", ts)
	slot(eo, "languageCode", lang)
	slot(eo, "sourcePatientId", s.Patient.String())
	named(eo, "eDispensation")
	classify(eo, "cl01", "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", entry, dialect.Coded{Code: class, Scheme: "2.16.840.1.113883.6.1", Display: "eDispensation"})
	classify(eo, "cl02", "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", entry, dialect.EDFormat(s.Discard))
	classify(eo, "cl03", "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", entry, dialect.Coded{Code: classED, Scheme: "2.16.840.1.113883.6.1", Display: "eDispensation"})
	classify(eo, "cl04", "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", entry, dialect.Coded{Code: "N", Scheme: "2.16.840.1.113883.5.25", Display: "normal"})
	extID(eo, "ei01", "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", entry, s.Patient.String(), "XDSDocumentEntry.patientId")
	extID(eo, "ei02", "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab", entry, s.DocumentUID, "XDSDocumentEntry.uniqueId")
	rp := add(list, "RegistryPackage", "id", set, "objectType", "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd")
	slot(rp, "submissionTime", ts)
	named(rp, "eDispensation submission")
	extID(rp, "ei03", "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8", set, s.SubmissionSetID, "XDSSubmissionSet.uniqueId")
	extID(rp, "ei04", "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832", set, s.SourceID, "XDSSubmissionSet.sourceId")
	extID(rp, "ei05", "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446", set, s.Patient.String(), "XDSSubmissionSet.patientId")
	add(list, "Classification", "classificationNode", "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd", "classifiedObject", set, "id", "cl05")
	as := add(list, "Association", "associationType", "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
		"id", "as01", "sourceObject", set, "targetObject", entry)
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
