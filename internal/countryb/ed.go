package countryb

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
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
	if err := dispensable(item, p.Item); err != nil {
		return nil, "", err
	}
	itemID := item.SelectElement("id")
	epID := src.SelectElement("id")
	if itemID == nil || epID == nil {
		return nil, "", errors.New("the ePrescription or its item has no id")
	}
	h := sha256.Sum256([]byte(fmt.Sprint(epID.SelectAttrValue("root", ""), "|", itemID.SelectAttrValue("extension", ""), "|", p.Now.UnixNano())))
	id = fmt.Sprintf("%s.%d", p.DocumentRoot, binary.BigEndian.Uint64(h[:8])>>4)

	ph := p.Pharmacist
	orgID := ph.OrganisationID
	if orgID == "" {
		orgID = "unknown"
	}
	const tel = "tel:+352-0000-0000"
	given, family := splitName(ph.Name)
	name := ""
	if n := product.FindElement("./manufacturedMaterial/name"); n != nil {
		name = n.Text()
	}
	if p.Item.Substituted && p.Item.Product != "" {
		name = p.Item.Product
	}
	text := etree.NewElement("text")
	tbl := text.CreateElement("table")
	tbl.CreateAttr("border", "1")
	hr := tbl.CreateElement("thead").CreateElement("tr")
	for _, h := range []string{"Produit", "Quantité", "Substitution", "Remarque"} {
		hr.CreateElement("th").SetText(h)
	}
	br := tbl.CreateElement("tbody").CreateElement("tr")
	c := br.CreateElement("td").CreateElement("content")
	c.CreateAttr("ID", "disp-1")
	c.SetText(name)
	br.CreateElement("td").SetText(fmt.Sprint(p.Item.Packages))
	subst := "non"
	if p.Item.Substituted {
		subst = "oui"
	}
	br.CreateElement("td").SetText(subst)
	br.CreateElement("td").SetText(p.Item.Note)
	mp := current(product)
	if p.Item.Substituted && p.Item.Product != "" {
		if n := mp.FindElement("./manufacturedMaterial/name"); n != nil {
			n.SetText(p.Item.Product)
		}
	}
	var rt *etree.Element
	if r := src.SelectElement("recordTarget"); r != nil {
		rt = current(r)
	}
	b, err := cda.EDSkeleton{
		ID: cda.II{Root: id}, Time: p.Now, Language: "fr-LU", Country: p.Country, RecordTarget: rt,
		Pharmacist: cda.EDProfessional{ID: cda.II{Root: ehdsi.OIDLUHCP, Extension: ph.ID}, Given: given, Family: family, City: ph.Locality, Telecom: tel,
			Organisation: cda.EDOrganisation{ID: cda.II{Root: ehdsi.OIDLUOrganisation, Extension: orgID}, Name: ph.Organisation, City: ph.Locality, Telecom: tel}},
		Custodian: cda.EDOrganisation{ID: cda.II{Root: "1.3.182.2.12.10000734.6.1"}, Name: "National Contact Point for eHealth Luxembourg",
			Telecom: "mailto:ncpeh@luxncp.invalid", City: "Luxembourg"},
		OrderID: current(itemID), ParentID: current(epID), ItemID: current(itemID),
		SectionID: cda.II{Root: id, Extension: "1"}, SupplyID: cda.II{Root: id, Extension: "2"},
		Narrative: text, Quantity: p.Item.Packages, Product: mp, Prescribed: current(product),
	}.Build()
	return b, id, err
}

// dispensable checks what the pharmacist declares against the prescribed
// item before anything is sent: no more packages than the item prescribes
// (its supply quantity, when stated), and no substitution where the
// prescriber forbade it (SUBST "N"). A prescription silent on
// substitution leaves it to the dispensing country's rules, as eHDSI
// does. The prescribing country checks again; this saves the pharmacist
// a refusal from abroad and keeps an impossible eDispensation unsent.
func dispensable(item *etree.Element, d DispenseItem) error {
	for _, er := range item.SelectElements("entryRelationship") {
		if sup := er.SelectElement("supply"); sup != nil {
			q := sup.SelectElement("quantity")
			if q == nil {
				continue
			}
			v, err := strconv.ParseFloat(q.SelectAttrValue("value", ""), 64)
			if err == nil && v > 0 && float64(d.Packages) > v {
				return fmt.Errorf("the prescription item is for %s package(s); %d cannot be dispensed", strconv.FormatFloat(v, 'f', -1, 64), d.Packages)
			}
		}
		if obs := er.SelectElement("observation"); obs != nil && d.Substituted {
			if c := obs.SelectElement("code"); c != nil && c.SelectAttrValue("code", "") == "SUBST" {
				if v := obs.SelectElement("value"); v != nil && v.SelectAttrValue("code", "") == "N" {
					return errors.New("the prescriber does not allow substitution for this item")
				}
			}
		}
	}
	return nil
}

// splitName splits "Given Names Family" at the last space.
func splitName(name string) (given, family string) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		return name[:i], name[i+1:]
	}
	return name, name
}
