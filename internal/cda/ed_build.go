package cda

import (
	"fmt"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
)

// EDSkeleton is one eHDSI eDispensation CDA (template …1.1.2) as luxncp
// writes it, whoever builds it: the header, the record target, the
// pharmacist as author, legal authenticator and performer, the custodian,
// the references to the ePrescription, the dispensation section (templates
// …1.2.2 and 2.16.840.1.113883.10.20.1.8) and its supply entry (…1.3.3).
// Its two callers differ only in data: ncpclient.EDocument (from fields:
// the CLI, the conformance suite, the tests) builds the patient, the
// product and the references; countryb.BuildED copies them from the
// foreign ePrescription.
// One builder, so the two cannot drift (docs/dialect.md).
type EDSkeleton struct {
	ID       II // document id and setId (root, extension)
	Time     time.Time
	Language string // languageCode, e.g. fr-LU
	Country  string // ISO 3166 alpha-2 of the addresses
	// RecordTarget is the whole recordTarget element (patientRole …).
	RecordTarget *etree.Element
	Pharmacist   EDProfessional
	Custodian    EDOrganisation
	// OrderID is inFulfillmentOf/order/id, ParentID
	// relatedDocument/parentDocument/id (the ePrescription), ItemID the
	// prescription item (entryRelationship/substanceAdministration/id):
	// id elements, written as they are.
	OrderID, ParentID, ItemID *etree.Element
	SectionID, SupplyID       II
	// Narrative is the section's text content; it holds the element with
	// ID="disp-1" the supply entry refers to.
	Narrative *etree.Element
	Quantity  int
	// Product is the dispensed manufacturedProduct (supply/product);
	// Prescribed the prescribed one (substanceAdministration/consumable).
	Product, Prescribed *etree.Element
}

// EDProfessional is the dispensing pharmacist.
type EDProfessional struct {
	ID            II
	Given, Family string
	City, Telecom string
	Organisation  EDOrganisation
}

// EDOrganisation is a pharmacy or custodian organisation.
type EDOrganisation struct {
	ID            II
	Name          string
	City, Telecom string
}

// NewII is an II element, as AppendII writes it, without a parent.
func NewII(tag string, id II) *etree.Element {
	return AppendII(etree.NewElement("x"), tag, id)
}

func add(parent *etree.Element, tag string, attrs ...string) *etree.Element {
	e := parent.CreateElement(tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

// Build writes the eDispensation: same skeleton, same bytes.
func (s EDSkeleton) Build() ([]byte, error) {
	ts := s.Time.UTC().Format("20060102150405") + "+0000"
	doc, cd := newClinicalDocument()
	addr := func(parent *etree.Element, city string) {
		a := add(parent, "addr")
		if city != "" {
			add(a, "city").SetText(city)
		}
		add(a, "country").SetText(s.Country)
	}
	org := func(o *etree.Element, g EDOrganisation) {
		o.AddChild(NewII("id", g.ID))
		add(o, "name").SetText(g.Name)
		add(o, "telecom", "use", "WP", "value", g.Telecom)
		addr(o, g.City)
	}
	ph := s.Pharmacist
	pharmacist := func(parent *etree.Element, tag string) {
		ae := add(parent, tag, "classCode", "ASSIGNED")
		ae.AddChild(NewII("id", ph.ID))
		addr(ae, ph.City)
		add(ae, "telecom", "use", "WP", "value", ph.Telecom)
		n := add(add(ae, "assignedPerson", "classCode", "PSN", "determinerCode", "INSTANCE"), "name")
		add(n, "given").SetText(ph.Given)
		add(n, "family").SetText(ph.Family)
		org(add(ae, "representedOrganization", "classCode", "ORG", "determinerCode", "INSTANCE"), ph.Organisation)
	}
	add(cd, "typeId", "root", "2.16.840.1.113883.1.3", "extension", "POCD_HD000040")
	add(cd, "templateId", "root", ehdsi.TemplateED)
	cd.AddChild(NewII("id", s.ID))
	add(cd, "code", "code", ehdsi.ClassED, "codeSystem", "2.16.840.1.113883.6.1", "codeSystemName", "LOINC", "displayName", "Medication dispensed.extended Document")
	add(cd, "title").SetText("eDispensation")
	add(cd, "effectiveTime", "value", ts)
	add(cd, "confidentialityCode", "code", "N", "codeSystem", "2.16.840.1.113883.5.25", "codeSystemName", "HL7 Confidentiality", "displayName", "normal")
	add(cd, "languageCode", "code", s.Language)
	cd.AddChild(NewII("setId", s.ID))
	add(cd, "versionNumber", "value", "1")
	if s.RecordTarget != nil {
		cd.AddChild(s.RecordTarget)
	}
	author := add(cd, "author", "typeCode", "AUT", "contextControlCode", "OP")
	role, _ := dialect.RoleOf("2262") // Pharmacists, in OpenNCP's role list
	add(author, "functionCode", "code", role.Code, "codeSystem", dialect.ISCOSystem, "codeSystemName", "ISCO-08", "displayName", role.Display)
	add(author, "time", "value", ts)
	pharmacist(author, "assignedAuthor")
	org(add(add(add(cd, "custodian", "typeCode", "CST"), "assignedCustodian", "classCode", "ASSIGNED"),
		"representedCustodianOrganization", "classCode", "ORG", "determinerCode", "INSTANCE"), s.Custodian)
	la := add(cd, "legalAuthenticator", "contextControlCode", "OP", "typeCode", "LA")
	add(la, "time", "value", ts)
	add(la, "signatureCode", "code", "S")
	pharmacist(la, "assignedEntity")
	add(add(cd, "inFulfillmentOf", "typeCode", "FLFS"), "order", "classCode", "ACT", "moodCode", "RQO").AddChild(s.OrderID)
	add(add(cd, "relatedDocument", "typeCode", "XFRM"), "parentDocument", "classCode", "DOCCLIN", "moodCode", "EVN").AddChild(s.ParentID)
	sec := add(add(add(add(cd, "component", "typeCode", "COMP", "contextConductionInd", "true"), "structuredBody", "classCode", "DOCBODY", "moodCode", "EVN"),
		"component", "typeCode", "COMP", "contextConductionInd", "true"), "section", "classCode", "DOCSECT", "moodCode", "EVN")
	add(sec, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.2.2")
	add(sec, "templateId", "root", "2.16.840.1.113883.10.20.1.8")
	sec.AddChild(NewII("id", s.SectionID))
	add(sec, "code", "code", "60590-7", "codeSystem", "2.16.840.1.113883.6.1", "codeSystemName", "LOINC", "displayName", "Medication dispensed.brief Document")
	add(sec, "title").SetText("Dispensation")
	sec.AddChild(s.Narrative)
	sup := add(add(sec, "entry", "typeCode", "COMP"), "supply", "classCode", "SPLY", "moodCode", "EVN")
	for _, t := range []string{"1.3.6.1.4.1.12559.11.10.1.3.1.3.3", "1.3.6.1.4.1.19376.1.5.3.1.4.7.3", "2.16.840.1.113883.10.20.1.34"} {
		add(sup, "templateId", "root", t)
	}
	sup.AddChild(NewII("id", s.SupplyID))
	add(add(sup, "text"), "reference", "value", "#disp-1")
	add(sup, "quantity", "value", fmt.Sprint(s.Quantity), "unit", "1")
	add(sup, "product", "typeCode", "PRD").AddChild(s.Product)
	perf := add(sup, "performer", "typeCode", "PRF")
	add(perf, "time", "value", ts)
	pharmacist(perf, "assignedEntity")
	sa := add(add(sup, "entryRelationship", "typeCode", "REFR"), "substanceAdministration", "classCode", "SBADM", "moodCode", "INT")
	sa.AddChild(s.ItemID)
	add(sa, "consumable", "typeCode", "CSM").AddChild(s.Prescribed)
	return doc.WriteToBytes()
}
