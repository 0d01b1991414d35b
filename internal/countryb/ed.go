package countryb

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/wssec"
)

// EDParams are the inputs of an eDispensation besides the ePrescription.
type EDParams struct {
	Item       DispenseItem
	Pharmacist ncpclient.Professional
	Country    string // LU
	Now        time.Time
	// DocumentRoot is the OID under which eD document ids are minted.
	DocumentRoot string
}

// BuildED builds the eHDSI eDispensation CDA for one item of a foreign
// ePrescription: the patient, the prescription reference (parentDocument
// and the prescription item id) and the product are taken from the eP; the
// pharmacist and the dispensed quantity from p. Same inputs, same bytes.
func BuildED(ep []byte, p EDParams) (doc []byte, id string, err error) {
	in := etree.NewDocument()
	if err := in.ReadFromBytes(ep); err != nil {
		return nil, "", fmt.Errorf("the ePrescription cannot be read: %w", err)
	}
	src := in.Root()
	if src == nil || src.Tag != "ClinicalDocument" {
		return nil, "", errors.New("the ePrescription is not a CDA document")
	}
	var item *etree.Element
	for _, sa := range src.FindElements(".//substanceAdministration") {
		ext := ""
		if i := sa.SelectElement("id"); i != nil {
			ext = i.SelectAttrValue("extension", "")
		}
		if p.Item.PrescriptionItemID == "" || ext == p.Item.PrescriptionItemID {
			item = sa
			break
		}
	}
	if item == nil {
		return nil, "", errors.New("the prescription item is not in the ePrescription")
	}
	product := item.FindElement("./consumable/manufacturedProduct")
	if product == nil {
		return nil, "", errors.New("the prescription item names no product")
	}
	itemID := item.SelectElement("id")
	epID := src.SelectElement("id")
	if itemID == nil || epID == nil {
		return nil, "", errors.New("the ePrescription or its item has no id")
	}
	h := sha256.Sum256([]byte(fmt.Sprint(epID.SelectAttrValue("root", ""), "|", itemID.SelectAttrValue("extension", ""), "|", p.Now.UnixNano())))
	id = fmt.Sprintf("%s.%d", p.DocumentRoot, binary.BigEndian.Uint64(h[:8])>>4)

	root := etree.NewElement("ClinicalDocument")
	root.CreateAttr("xmlns", "urn:hl7-org:v3")
	root.CreateAttr("xmlns:pharm", "urn:hl7-org:pharm")
	root.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	root.CreateAttr("classCode", "DOCCLIN")
	root.CreateAttr("moodCode", "EVN")
	add := func(parent *etree.Element, tag string, attrs ...string) *etree.Element {
		e := parent.CreateElement(tag)
		for i := 0; i+1 < len(attrs); i += 2 {
			e.CreateAttr(attrs[i], attrs[i+1])
		}
		return e
	}
	addr := func(parent *etree.Element, city string) {
		a := add(parent, "addr")
		if city != "" {
			add(a, "city").SetText(city)
		}
		add(a, "country").SetText(p.Country)
	}
	ph := p.Pharmacist
	orgID := ph.OrganisationID
	if orgID == "" {
		orgID = "unknown"
	}
	pharmacist := func(parent *etree.Element, tag string) {
		ae := add(parent, tag, "classCode", "ASSIGNED")
		add(ae, "id", "root", ehdsi.OIDLUHCP, "extension", ph.ID)
		addr(ae, ph.Locality)
		add(ae, "telecom", "use", "WP", "value", "tel:+352-0000-0000")
		n := add(add(ae, "assignedPerson", "classCode", "PSN", "determinerCode", "INSTANCE"), "name")
		given, family := splitName(ph.Name)
		add(n, "given").SetText(given)
		add(n, "family").SetText(family)
		org := add(ae, "representedOrganization", "classCode", "ORG", "determinerCode", "INSTANCE")
		add(org, "id", "root", ehdsi.OIDLUOrganisation, "extension", orgID)
		add(org, "name").SetText(ph.Organisation)
		add(org, "telecom", "use", "WP", "value", "tel:+352-0000-0000")
		addr(org, ph.Locality)
	}
	ts := p.Now.UTC().Format("20060102150405") + "+0000"
	add(root, "typeId", "root", "2.16.840.1.113883.1.3", "extension", "POCD_HD000040")
	add(root, "templateId", "root", ehdsi.TemplateED)
	add(root, "id", "root", id)
	add(root, "code", "code", ehdsi.ClassED, "codeSystem", "2.16.840.1.113883.6.1", "codeSystemName", "LOINC", "displayName", "Medication dispensed.brief")
	add(root, "title").SetText("eDispensation")
	add(root, "effectiveTime", "value", ts)
	add(root, "confidentialityCode", "code", "N", "codeSystem", "2.16.840.1.113883.5.25", "codeSystemName", "HL7 Confidentiality", "displayName", "normal")
	add(root, "languageCode", "code", "fr-LU")
	add(root, "setId", "root", id)
	add(root, "versionNumber", "value", "1")
	if rt := src.SelectElement("recordTarget"); rt != nil {
		root.AddChild(current(rt))
	}
	author := add(root, "author", "typeCode", "AUT", "contextControlCode", "OP")
	role := wssec.Roles["pharmacist"]
	add(author, "functionCode", "code", role.Code, "codeSystem", role.System, "codeSystemName", "ISCO-08", "displayName", role.Display)
	add(author, "time", "value", ts)
	pharmacist(author, "assignedAuthor")
	cust := add(add(add(root, "custodian", "typeCode", "CST"), "assignedCustodian", "classCode", "ASSIGNED"), "representedCustodianOrganization", "classCode", "ORG", "determinerCode", "INSTANCE")
	add(cust, "id", "root", "1.3.182.2.12.10000734.6.1")
	add(cust, "name").SetText("National Contact Point for eHealth Luxembourg")
	add(cust, "telecom", "use", "WP", "value", "mailto:ncpeh@luxncp.invalid")
	addr(cust, "Luxembourg")
	la := add(root, "legalAuthenticator", "contextControlCode", "OP", "typeCode", "LA")
	add(la, "time", "value", ts)
	add(la, "signatureCode", "code", "S")
	pharmacist(la, "assignedEntity")
	order := add(add(root, "inFulfillmentOf", "typeCode", "FLFS"), "order", "classCode", "ACT", "moodCode", "RQO")
	order.AddChild(current(itemID))
	pd := add(add(root, "relatedDocument", "typeCode", "XFRM"), "parentDocument", "classCode", "DOCCLIN", "moodCode", "EVN")
	pd.AddChild(current(epID))
	s := add(add(add(add(root, "component", "typeCode", "COMP", "contextConductionInd", "true"), "structuredBody", "classCode", "DOCBODY", "moodCode", "EVN"),
		"component", "typeCode", "COMP", "contextConductionInd", "true"), "section", "classCode", "DOCSECT", "moodCode", "EVN")
	add(s, "templateId", "root", "1.3.6.1.4.1.12559.11.10.1.3.1.2.2")
	add(s, "templateId", "root", "2.16.840.1.113883.10.20.1.8")
	add(s, "id", "root", id, "extension", "1")
	add(s, "code", "code", "60590-7", "codeSystem", "2.16.840.1.113883.6.1", "codeSystemName", "LOINC", "displayName", "Medication dispensed.brief Document")
	add(s, "title").SetText("Dispensation")
	name := ""
	if n := product.FindElement("./manufacturedMaterial/name"); n != nil {
		name = n.Text()
	}
	if p.Item.Substituted && p.Item.Product != "" {
		name = p.Item.Product
	}
	tbl := add(add(s, "text"), "table", "border", "1")
	hr := add(add(tbl, "thead"), "tr")
	for _, h := range []string{"Produit", "Quantité", "Substitution", "Remarque"} {
		add(hr, "th").SetText(h)
	}
	br := add(add(tbl, "tbody"), "tr")
	add(add(br, "td"), "content", "ID", "disp-1").SetText(name)
	add(br, "td").SetText(fmt.Sprint(p.Item.Packages))
	subst := "non"
	if p.Item.Substituted {
		subst = "oui"
	}
	add(br, "td").SetText(subst)
	add(br, "td").SetText(p.Item.Note)
	sup := add(add(s, "entry", "typeCode", "COMP"), "supply", "classCode", "SPLY", "moodCode", "EVN")
	for _, t := range []string{"1.3.6.1.4.1.12559.11.10.1.3.1.3.3", "1.3.6.1.4.1.19376.1.5.3.1.4.7.3", "2.16.840.1.113883.10.20.1.34"} {
		add(sup, "templateId", "root", t)
	}
	add(sup, "id", "root", id, "extension", "2")
	add(add(sup, "text"), "reference", "value", "#disp-1")
	add(sup, "quantity", "value", fmt.Sprint(p.Item.Packages), "unit", "1")
	mp := current(product)
	if p.Item.Substituted && p.Item.Product != "" {
		if n := mp.FindElement("./manufacturedMaterial/name"); n != nil {
			n.SetText(p.Item.Product)
		}
	}
	add(sup, "product").AddChild(mp)
	perf := add(sup, "performer", "typeCode", "PRF")
	add(perf, "time", "value", ts)
	pharmacist(perf, "assignedEntity")
	ref := add(add(sup, "entryRelationship", "typeCode", "REFR"), "substanceAdministration", "classCode", "SBADM", "moodCode", "INT")
	ref.AddChild(current(itemID))
	add(ref, "consumable", "typeCode", "CSM").AddChild(current(product))
	out := etree.NewDocument()
	out.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	out.SetRoot(root)
	b, err := out.WriteToBytes()
	return b, id, err
}

// splitName splits "Given Names Family" at the last space.
func splitName(name string) (given, family string) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		return name[:i], name[i+1:]
	}
	return name, name
}
