package cda

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Limits bound the eDispensation parser. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int // default 4 MiB
	MaxDepth    int // element nesting, default 64
	MaxElements int // default 20000
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 4 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 20000
	}
	return l
}

// EDError is a rejected eDispensation. Code is the eHDSI error to report;
// Msg is public (never patient data).
type EDError struct {
	Code ehdsi.Code
	Msg  string
	Err  error
}

func (e *EDError) Error() string {
	s := string(e.Code) + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *EDError) Unwrap() error { return e.Err }

// Fault turns the error into an application fault for the XDR response.
func (e *EDError) Fault() *ehdsi.Fault { return ehdsi.App(e.Code, e.Msg, e) }

func edErr(code ehdsi.Code, format string, args ...any) *EDError {
	return &EDError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// DispensedProduct is the medicine handed over.
type DispensedProduct struct {
	Code        terminology.Coding // national product code of the dispensing country
	Name        string
	Description string // pharm:desc (strength)
	ATC         terminology.Coding
	DoseForm    terminology.Coding
	Package     terminology.Coding // package code (e.g. GS1) of the outer package, when given
	PackSize    Quantity
	// Ingredients are the active ingredients (pharm:ingredient[@classCode
	// ACTI]) with their strength (pharm:quantity numerator per
	// denominator); a strength written with nullFlavor reads as zero.
	Ingredients []Ingredient
}

// DispensedItem is one supply entry of an eDispensation.
type DispensedItem struct {
	ID II
	// PrescriptionItemIDs are the ids of the prescribed item(s) this supply
	// fulfils (entryRelationship/substanceAdministration/id).
	PrescriptionItemIDs []II
	Product             DispensedProduct
	// Quantity is the number of packages dispensed (supply/quantity).
	Quantity    Quantity
	Time        time.Time // performer/time, else the document's effectiveTime
	Substituted bool      // a substitution act/observation is present
	Dispenser   Professional
}

// Dispensation is what luxncp reads from an eHDSI eDispensation (…1.1.2).
type Dispensation struct {
	DocumentID    II
	EffectiveTime time.Time
	Language      string
	PatientIDs    []II
	PatientName   Name
	// Author is the dispensing pharmacist and their organisation.
	Author  Professional
	Country string // ISO 3166 country of the dispenser
	// OrderIDs are inFulfillmentOf/order/id: the prescription(s).
	OrderIDs []II
	// ParentDocumentIDs are relatedDocument/parentDocument/id (the eP document), nullFlavored ones left out.
	ParentDocumentIDs []II
	Items             []DispensedItem
}

// PatientID returns the patient id with the given root, or the first one
// when root is "".
func (d *Dispensation) PatientID(root string) (II, bool) {
	for _, id := range d.PatientIDs {
		if root == "" || id.Root == root {
			return id, true
		}
	}
	return II{}, false
}

// PrescriptionRefs lists every id the eDispensation uses to name the
// prescription, most specific first: the prescription item ids, the order
// ids, then the parent document ids; duplicates removed.
func (d *Dispensation) PrescriptionRefs() []II {
	var out []II
	seen := map[II]bool{}
	add := func(ids []II) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	for _, it := range d.Items {
		add(it.PrescriptionItemIDs)
	}
	add(d.OrderIDs)
	add(d.ParentDocumentIDs)
	return out
}

// Key is the idempotency key of item i: the eDispensation document id
// ("root^extension"), with "#n" appended when the document has several
// items.
func (d *Dispensation) Key(i int) string {
	k := d.DocumentID.Root
	if d.DocumentID.Extension != "" {
		k += "^" + d.DocumentID.Extension
	}
	if len(d.Items) > 1 {
		k += "#" + strconv.Itoa(i+1)
	}
	return k
}

// prescan walks the raw bytes once with encoding/xml, refusing DTDs and
// enforcing the limits, before any tree is built.
func prescan(data []byte, lim Limits) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	depth, count := 0, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			count++
			if depth > lim.MaxDepth {
				return fmt.Errorf("nesting deeper than %d", lim.MaxDepth)
			}
			if count > lim.MaxElements {
				return fmt.Errorf("more than %d elements", lim.MaxElements)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return errors.New("DTDs and other directives are not accepted")
		}
	}
	if count == 0 {
		return errors.New("no element")
	}
	return nil
}

// ReadED parses and checks an eDispensation CDA. Malformed input is
// ERROR_ED_INCORRECT_FORMATTING, a missing document or patient id or
// dispensed item ERROR_ED_MISSING_REQUIRED_FIELDS, no way to tell which
// prescription it dispenses ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE; all as
// *EDError.
func ReadED(data []byte, lim Limits) (*Dispensation, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, edErr(ehdsi.ErrEDIncorrectFormatting, "eDispensation larger than %d bytes", lim.MaxBytes)
	}
	if err := prescan(data, lim); err != nil {
		return nil, &EDError{Code: ehdsi.ErrEDIncorrectFormatting, Msg: "eDispensation is not acceptable XML", Err: err}
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, &EDError{Code: ehdsi.ErrEDIncorrectFormatting, Msg: "eDispensation is not well-formed XML", Err: err}
	}
	root := doc.Root()
	if root == nil || root.Tag != "ClinicalDocument" || root.NamespaceURI() != NSHL7 {
		return nil, edErr(ehdsi.ErrEDIncorrectFormatting, "root element is not hl7:ClinicalDocument")
	}
	if !hasTemplate(root, ehdsi.TemplateED) {
		return nil, edErr(ehdsi.ErrEDIncorrectFormatting, "templateId %s (eHDSI eDispensation) missing", ehdsi.TemplateED)
	}
	d := &Dispensation{}
	var ok bool
	if d.DocumentID, ok = readII(hl7(root, "id")); !ok {
		return nil, edErr(ehdsi.ErrEDMissingRequiredFields, "document id missing")
	}
	if t, ok := ParseTS(attr(hl7(root, "effectiveTime"), "value")); ok {
		d.EffectiveTime = t
	}
	d.Language = attr(hl7(root, "languageCode"), "code")
	pr := hl7(hl7(root, "recordTarget"), "patientRole")
	for _, e := range hl7All(pr, "id") {
		if id, ok := readII(e); ok {
			d.PatientIDs = append(d.PatientIDs, id)
		}
	}
	if len(d.PatientIDs) == 0 {
		return nil, edErr(ehdsi.ErrEDMissingRequiredFields, "patient id (recordTarget/patientRole/id) missing")
	}
	d.PatientName = readName(hl7(hl7(pr, "patient"), "name"))
	if aa := hl7(hl7(root, "author"), "assignedAuthor"); aa != nil {
		d.Author = readProfessional(aa)
	}
	d.Country = d.Author.Organization.Addr.Country
	if d.Country == "" {
		d.Country = d.Author.Addr.Country
	}
	if d.Country == "" {
		d.Country = text(hl7(hl7(hl7(hl7(hl7(root, "custodian"), "assignedCustodian"), "representedCustodianOrganization"), "addr"), "country"))
	}
	for _, f := range hl7All(root, "inFulfillmentOf") {
		if id, ok := readII(hl7(hl7(f, "order"), "id")); ok {
			d.OrderIDs = append(d.OrderIDs, id)
		}
	}
	for _, r := range hl7All(root, "relatedDocument") {
		for _, e := range hl7All(hl7(r, "parentDocument"), "id") {
			if id, ok := readII(e); ok {
				d.ParentDocumentIDs = append(d.ParentDocumentIDs, id)
			}
		}
	}
	body := hl7(hl7(root, "component"), "structuredBody")
	for _, c := range hl7All(body, "component") {
		for _, entry := range hl7All(hl7(c, "section"), "entry") {
			sp := hl7(entry, "supply")
			if sp == nil {
				continue
			}
			d.Items = append(d.Items, readSupply(sp, d))
		}
	}
	if len(d.Items) == 0 {
		return nil, edErr(ehdsi.ErrEDMissingRequiredFields, "no dispensed item (section/entry/supply)")
	}
	for i, it := range d.Items {
		if it.Product.Name == "" && it.Product.Code.Code == "" {
			return nil, edErr(ehdsi.ErrEDMissingRequiredFields, "dispensed item %d has no product", i+1)
		}
	}
	if len(d.PrescriptionRefs()) == 0 {
		return nil, edErr(ehdsi.ErrEDPrescriptionNotIdentifiable, "the eDispensation names no prescription (inFulfillmentOf, relatedDocument or entryRelationship/substanceAdministration id)")
	}
	return d, nil
}

func readSupply(sp *etree.Element, d *Dispensation) DispensedItem {
	it := DispensedItem{Time: d.EffectiveTime, Dispenser: d.Author}
	it.ID, _ = readII(hl7(sp, "id"))
	it.Quantity = readPQ(hl7(sp, "quantity"))
	if perf := hl7(sp, "performer"); perf != nil {
		if t, ok := ParseTS(attr(hl7(perf, "time"), "value")); ok {
			it.Time = t
		}
		if ae := hl7(perf, "assignedEntity"); ae != nil {
			it.Dispenser = readProfessional(ae)
		}
	}
	mm := hl7(hl7(hl7(sp, "product"), "manufacturedProduct"), "manufacturedMaterial")
	if mm != nil {
		p := &it.Product
		p.Code = readCoding(hl7(mm, "code"))
		p.Name = text(hl7(mm, "name"))
		p.Description = text(pharm(mm, "desc"))
		p.DoseForm = readCoding(pharm(mm, "formCode"))
		p.ATC = readCoding(pharm(pharm(pharm(mm, "asSpecializedKind"), "generalizedMaterialKind"), "code"))
		if ac := pharm(mm, "asContent"); ac != nil {
			p.PackSize = readPQ(pharm(ac, "quantity"))
			// the outermost coded package
			for cpp := pharm(ac, "containerPackagedProduct"); cpp != nil; cpp = pharm(pharm(cpp, "asContent"), "containerPackagedProduct") {
				if c := readCoding(pharm(cpp, "code")); c.Code != "" {
					p.Package = c
				}
			}
		}
		p.Ingredients = readIngredients(mm)
		if p.Name == "" {
			p.Name = p.Code.Display
		}
	}
	for _, er := range hl7All(sp, "entryRelationship") {
		if sa := hl7(er, "substanceAdministration"); sa != nil {
			for _, e := range hl7All(sa, "id") {
				if id, ok := readII(e); ok {
					it.PrescriptionItemIDs = append(it.PrescriptionItemIDs, id)
				}
			}
		}
		for _, tag := range []string{"act", "observation"} {
			if a := hl7(er, tag); a != nil && attr(hl7(a, "code"), "code") == "SUBST" {
				v := attr(hl7(a, "value"), "code")
				it.Substituted = v == "" || v != "N"
			}
		}
	}
	return it
}

// readIngredients reads the active ingredients of a manufacturedMaterial
// as the eHDSI template writes them: pharm:ingredient/pharm:quantity with
// hl7 numerator and denominator (pharm: accepted too), the substance in
// pharm:ingredientSubstance. A missing denominator is 1.
func readIngredients(mm *etree.Element) []Ingredient {
	var out []Ingredient
	for _, ing := range childrenNS(mm, NSPharm, "ingredient") {
		if cc := attr(ing, "classCode"); cc != "" && cc != "ACTI" {
			continue
		}
		q := pharm(ing, "quantity")
		ratio := func(local string) Quantity {
			e := hl7(q, local)
			if e == nil {
				e = pharm(q, local)
			}
			return readPQ(e)
		}
		in := Ingredient{Strength: ratio("numerator"), Per: ratio("denominator")}
		if in.Per.Value == 0 {
			in.Per = Quantity{Value: 1, Unit: "1"}
		}
		sub := pharm(ing, "ingredientSubstance")
		in.Code, in.Name = readCoding(pharm(sub, "code")), text(pharm(sub, "name"))
		out = append(out, in)
	}
	return out
}

// --- small etree readers: match by namespace URI and local name ---

func childNS(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func hl7(e *etree.Element, local string) *etree.Element   { return childNS(e, NSHL7, local) }
func pharm(e *etree.Element, local string) *etree.Element { return childNS(e, NSPharm, local) }

func hl7All(e *etree.Element, local string) []*etree.Element { return childrenNS(e, NSHL7, local) }

func childrenNS(e *etree.Element, ns, local string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func attr(e *etree.Element, name string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attr {
		if a.Key == name && a.Space == "" {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

func text(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return strings.Join(strings.Fields(e.Text()), " ")
}

func hasTemplate(e *etree.Element, root string) bool {
	for _, t := range hl7All(e, "templateId") {
		if attr(t, "root") == root {
			return true
		}
	}
	return false
}

func readII(e *etree.Element) (II, bool) {
	if e == nil || attr(e, "nullFlavor") != "" || attr(e, "root") == "" {
		return II{}, false
	}
	return II{Root: attr(e, "root"), Extension: attr(e, "extension")}, true
}

func readCoding(e *etree.Element) terminology.Coding {
	if e == nil || attr(e, "nullFlavor") != "" {
		return terminology.Coding{}
	}
	return terminology.Coding{Code: attr(e, "code"), System: attr(e, "codeSystem"), SystemName: attr(e, "codeSystemName"),
		SystemVersion: attr(e, "codeSystemVersion"), Display: attr(e, "displayName")}
}

func readPQ(e *etree.Element) Quantity {
	if e == nil {
		return Quantity{}
	}
	v, err := strconv.ParseFloat(attr(e, "value"), 64)
	if err != nil {
		return Quantity{}
	}
	u := attr(e, "unit")
	if u == "" {
		u = "1"
	}
	return Quantity{Value: v, Unit: u}
}

func readName(e *etree.Element) Name {
	var n Name
	if e == nil {
		return n
	}
	for _, c := range e.ChildElements() {
		if c.NamespaceURI() != NSHL7 {
			continue
		}
		switch c.Tag {
		case "given":
			n.Given = append(n.Given, text(c))
		case "family":
			if n.Family == "" {
				n.Family = text(c)
			}
		case "prefix":
			n.Prefix = append(n.Prefix, text(c))
		}
	}
	return n
}

func readAddr(e *etree.Element) Address {
	if e == nil {
		return Address{}
	}
	a := Address{}
	for _, l := range hl7All(e, "streetAddressLine") {
		if s := text(l); s != "" {
			a.Lines = append(a.Lines, s)
		}
	}
	a.City, a.PostalCode, a.State, a.Country = text(hl7(e, "city")), text(hl7(e, "postalCode")), text(hl7(e, "state")), text(hl7(e, "country"))
	return a
}

func readTelecoms(e *etree.Element) []Telecom {
	var out []Telecom
	for _, t := range hl7All(e, "telecom") {
		if v := attr(t, "value"); v != "" {
			out = append(out, Telecom{Use: attr(t, "use"), Value: v})
		}
	}
	return out
}

func readProfessional(e *etree.Element) Professional {
	p := Professional{Addr: readAddr(hl7(e, "addr")), Telecoms: readTelecoms(e)}
	for _, id := range hl7All(e, "id") {
		if ii, ok := readII(id); ok {
			p.IDs = append(p.IDs, ii)
		}
	}
	if ap := hl7(e, "assignedPerson"); ap != nil {
		p.Name = readName(hl7(ap, "name"))
	}
	if o := hl7(e, "representedOrganization"); o != nil {
		p.Organization = Organization{Name: text(hl7(o, "name")), Addr: readAddr(hl7(o, "addr")), Telecoms: readTelecoms(o)}
		for _, id := range hl7All(o, "id") {
			if ii, ok := readII(id); ok {
				p.Organization.IDs = append(p.Organization.IDs, ii)
			}
		}
	}
	return p
}
