package countryb

import (
	"strings"

	"github.com/beevik/etree"
)

// Namespaces an ePrescription's parts may come in. Partners on older
// waves still write the medication extension in the epSOS namespace
// (pre-2022 CDA_extended.xsd); the eDispensation is current eHDSI
// (CDA_Pharma.xsd), so what it copies is rewritten into urn:hl7-org:pharm.
const (
	nsHL7   = "urn:hl7-org:v3"
	nsPharm = "urn:hl7-org:pharm"
	nsEpSOS = "urn:epsos-org:ep:medication"
	nsXSI   = "http://www.w3.org/2001/XMLSchema-instance"
)

// epsosRenames are the epSOS medication elements whose eHDSI counterpart
// has another name, keyed by the parent's epSOS name.
var epsosRenames = map[[2]string]string{
	{"asContent", "containerPackagedMedicine"}: "containerPackagedProduct",
	{"ingredient", "ingredient"}:               "ingredientSubstance",
}

// epsosMaterial are the children of manufacturedMaterial that the eHDSI
// schema keeps (in urn:hl7-org:pharm); the other epSOS ones (id,
// riskCode, handlingCode, stabilityTime…) have no place there.
var epsosMaterial = map[string]bool{"desc": true, "formCode": true, "expirationTime": true,
	"asContent": true, "asSpecializedKind": true, "part": true, "ingredient": true}

// epSOS templates of the product that eHDSI replaced.
var legacyProductTemplates = map[string]string{
	"manufacturedProduct":  "1.3.6.1.4.1.12559.11.10.1.3.1.3.29",
	"manufacturedMaterial": "1.3.6.1.4.1.12559.11.10.1.3.1.3.30",
}

// legacyStructural are the classCode/determinerCode eHDSI requires of the
// product parts it names (epSOS defaulted or differed).
var legacyStructural = map[string][][2]string{
	"manufacturedProduct":      {{"classCode", "MANU"}},
	"manufacturedMaterial":     {{"classCode", "MMAT"}, {"determinerCode", "KIND"}},
	"containerPackagedProduct": {{"classCode", "CONT"}, {"determinerCode", "KIND"}},
	"ingredientSubstance":      {{"classCode", "MMAT"}, {"determinerCode", "KIND"}},
}

// current copies el (a part of the received ePrescription) for the
// eDispensation: every element and xsi:type is written with the prefixes
// the eDispensation declares (HL7 unprefixed, pharm:, xsi:) whatever the
// source called them; epSOS-namespace medication elements become their
// eHDSI pharm: counterparts (with the eHDSI product templates); empty
// attributes (extension="") are left out.
func current(el *etree.Element) *etree.Element {
	legacy := hasNS(el, nsEpSOS)
	return convert(el, el.NamespaceURI(), "", legacy)
}

func hasNS(el *etree.Element, ns string) bool {
	if el.NamespaceURI() == ns {
		return true
	}
	for _, c := range el.ChildElements() {
		if hasNS(c, ns) {
			return true
		}
	}
	return false
}

func convert(el *etree.Element, ns, parentLocal string, legacy bool) *etree.Element {
	out := etree.NewElement(el.Tag)
	switch ns {
	case nsPharm:
		out.Space = "pharm"
	case nsEpSOS:
		out.Space = "pharm"
		if to, ok := epsosRenames[[2]string{parentLocal, el.Tag}]; ok {
			out.Tag = to
		}
		if el.Tag == "translation" || el.Tag == "originalText" || el.Tag == "qualifier" ||
			el.Tag == "numerator" || el.Tag == "denominator" || el.Tag == "low" || el.Tag == "high" {
			// Data type parts are HL7 elements in the eHDSI schema.
			out.Space = ""
		}
	}
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") || a.Value == "" {
			continue
		}
		switch {
		case a.Space == "":
			out.CreateAttr(a.Key, a.Value)
		case a.NamespaceURI() == nsXSI:
			v := a.Value
			if i := strings.IndexByte(v, ':'); i >= 0 {
				v = v[i+1:] // data types are HL7's: xsi:type="epsos:PQ" is PQ
			}
			out.CreateAttr("xsi:"+a.Key, v)
		}
	}
	if legacy {
		// eHDSI fixes the structural codes epSOS left to defaults (or
		// had as INSTANCE for the package).
		for _, a := range legacyStructural[out.Tag] {
			out.RemoveAttr(a[0])
			out.CreateAttr(a[0], a[1])
		}
	}
	// eHDSI: the package quantity under asContent is a PQ, not a ratio.
	if legacy && ns == nsEpSOS && el.Tag == "quantity" && parentLocal == "asContent" {
		if n := el.SelectElement("numerator"); n != nil {
			for _, k := range []string{"value", "unit", "nullFlavor"} {
				if v := n.SelectAttrValue(k, ""); v != "" {
					out.CreateAttr(k, v)
				}
			}
		}
		return out
	}
	if legacy && ns == nsEpSOS && el.Tag == "code" && out.SelectAttr("code") != nil && out.SelectAttr("displayName") == nil {
		// eHDSI requires a display on every code; epSOS did not: name
		// the package (or substance) code after the part's name.
		if p := el.Parent(); p != nil {
			if n := p.SelectElement("name"); n != nil && strings.TrimSpace(n.Text()) != "" {
				out.CreateAttr("displayName", strings.Join(strings.Fields(n.Text()), " "))
			}
		}
	}
	if legacy && ns == nsEpSOS && el.Tag == "asContent" && el.SelectElement("quantity") == nil {
		// eHDSI requires the package size: epSOS could give it as the
		// package's capacity only.
		if c := el.FindElement("./containerPackagedMedicine/capacityQuantity"); c != nil && c.SelectAttrValue("value", "") != "" {
			q := out.CreateElement("quantity")
			q.Space = "pharm"
			q.CreateAttr("value", c.SelectAttrValue("value", ""))
			q.CreateAttr("unit", c.SelectAttrValue("unit", "1"))
		}
	}
	if tpl, ok := legacyProductTemplates[el.Tag]; ok && legacy && ns == nsHL7 {
		t := out.CreateElement("templateId")
		t.CreateAttr("root", tpl)
	}
	for _, tok := range el.Child {
		switch x := tok.(type) {
		case *etree.Element:
			cns := x.NamespaceURI()
			if legacy && x.Tag == "templateId" && cns == nsHL7 && legacyProductTemplates[el.Tag] != "" {
				continue // replaced by the eHDSI template above
			}
			if legacy && el.Tag == "manufacturedMaterial" && cns == nsEpSOS && !epsosMaterial[x.Tag] {
				continue
			}
			out.AddChild(convert(x, cns, el.Tag, legacy))
		case *etree.CharData:
			if !x.IsWhitespace() {
				out.AddChild(etree.NewText(x.Data))
			}
		}
	}
	return out
}
