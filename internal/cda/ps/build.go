package ps

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Options configure Build and BuildL1. The zero value of every field but
// Terminology has a working default.
type Options struct {
	// Terminology transcodes national codes to the eHDSI MVC;
	// *terminology.Catalogue satisfies it. Required.
	Terminology cda.Terminology
	// Language is the document (narrative) language, BCP 47 nn-CC; default "fr-LU".
	Language string
	// IDRoot is the OID under which document and entry ids are minted;
	// default DefaultIDRoot.
	IDRoot string
	// Time is the document effectiveTime; zero means the national
	// document's Created time (never the wall clock).
	Time time.Time
	// Custodian is the organisation written as custodian; zero means the
	// national record's custodian.
	Custodian cda.Organization
}

// DefaultIDRoot is the id root of documents luxncp mints: Luxembourg's
// MyHealth@EU home community id, arc 2 (documents).
const DefaultIDRoot = ehdsi.HomeCommunityLU + ".2"

// Document is a generated pivot document.
type Document struct {
	// ID is the document id (ClinicalDocument/id): IDRoot with the content
	// hash as extension, suffixed "L3" or "L1".
	ID cda.II
	// Hash is the hex SHA-256 of the national content the document was
	// built from (stable across rebuilds of unchanged data).
	Hash    string
	Title   string
	Created time.Time
	// TemplateID is the eHDSI document template (ehdsi.TemplatePS or TemplatePSL1).
	TemplateID string
	// FormatCode and FormatScheme are the XDS formatCode of the document
	// as eHDSI partners expect it in XCA query responses.
	FormatCode, FormatScheme string
	Language                 string
	XML                      []byte
}

// XDS format codes of the Patient Summary levels.
const (
	FormatCodeL3   = "urn:epSOS:ps:ps:2010"
	FormatSchemeL3 = "epSOS formatCodes"
	FormatCodeL1   = "urn:ihe:iti:xds-sd:pdf:2008"
	FormatSchemeL1 = "IHE PCC"
)

// ErrInvalid is wrapped by errors about a Summary that cannot make a
// document (missing patient id, author …): eHDSI ERROR_PS_MISSING_REQUIRED_FIELDS.
var ErrInvalid = errors.New("patient summary incomplete")

// ContentHash is the hex SHA-256 of s's canonical JSON: same national
// content, same hash, whichever reader produced it.
func ContentHash(s *Summary) string {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen: Summary has only marshalable fields
		panic(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// DocumentID returns the id Build gives the document of level ("L3" or
// "L1") for content hash h under root.
func DocumentID(root, h, level string) cda.II {
	if root == "" {
		root = DefaultIDRoot
	}
	return cda.II{Root: root, Extension: h[:32] + "." + level}
}

// Build writes the eHDSI Patient Summary pivot document (L3) for s.
//
// A required coded element that cannot be transcoded fails the whole
// document with an *ehdsi.Fault of code ErrRequiredCodedElementNotTranscoded
// whose cause is a *cda.TranscodeError; optional elements are written with a
// nullFlavor, the national code as translation and the original text.
func Build(s *Summary, opt Options) (*Document, error) {
	b, xml, err := buildL3(s, opt)
	if err != nil {
		return nil, err
	}
	return &Document{ID: b.docID, Hash: b.hash, Title: b.l.word("title"), Created: b.time, TemplateID: ehdsi.TemplatePS,
		FormatCode: FormatCodeL3, FormatScheme: FormatSchemeL3, Language: b.lang, XML: xml}, nil
}

func buildL3(s *Summary, opt Options) (*builder, []byte, error) {
	b, err := newBuilder(s, opt, "L3")
	if err != nil {
		return nil, nil, err
	}
	d, err := cda.NewDocument(b.header(ehdsi.TemplatePS, terminology.DocPS), b.term)
	if err != nil {
		return nil, nil, b.fail(err)
	}
	body := d.StructuredBody()
	for _, f := range []func(*etree.Element) error{
		b.allergies, b.medications, b.problems, b.procedures, b.devices, b.immunizations,
		b.pastIllnesses, b.functional, b.social, b.pregnancy, b.vitalSigns, b.results, b.carePlan, b.directives,
	} {
		if err := f(body); err != nil {
			return nil, nil, b.fail(err)
		}
	}
	xml, err := d.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("serialise patient summary: %w", err)
	}
	return b, xml, nil
}

// BuildL1 writes the PDF-embedded (level 1) Patient Summary (template
// …1.1.7): the same header as Build, and a nonXMLBody carrying a PDF
// rendering of the same narrative. It fails exactly when Build fails (a
// required code that cannot be transcoded fails both levels alike).
func BuildL1(s *Summary, opt Options) (*Document, error) {
	b, _, err := buildL3(s, opt)
	if err != nil {
		return nil, err
	}
	b.docID = DocumentID(b.idRoot, b.hash, "L1")
	pdf := b.renderPDF()
	xml, err := cda.BuildL1(b.header(ehdsi.TemplatePSL1, terminology.DocPSL1), b.term, pdf)
	if err != nil {
		return nil, b.fail(err)
	}
	return &Document{ID: b.docID, Hash: b.hash, Title: b.l.word("title"), Created: b.time, TemplateID: ehdsi.TemplatePSL1,
		FormatCode: FormatCodeL1, FormatScheme: FormatSchemeL1, Language: b.lang, XML: xml}, nil
}

type builder struct {
	s      *Summary
	opt    Options
	term   cda.Terminology
	l      *labels
	lang   string
	hash   string
	idRoot string
	docID  cda.II
	time   time.Time
	narr   []narrSection // the narrative, kept for the L1 rendering
}

type narrSection struct {
	title  string
	paras  []string
	tables []narrTable
}

type narrTable struct {
	headers []string
	rows    [][]string
}

// para writes a narrative paragraph (and keeps it for the L1 rendering).
func (b *builder) para(text *etree.Element, s, id string) {
	if n := len(b.narr); n > 0 {
		b.narr[n-1].paras = append(b.narr[n-1].paras, s)
	}
	cda.AppendParagraph(text, s, id)
}

func newBuilder(s *Summary, opt Options, level string) (*builder, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: no summary", ErrInvalid)
	}
	if opt.Terminology == nil {
		return nil, errors.New("ps: Options.Terminology is nil")
	}
	if len(s.Patient.IDs) == 0 {
		return nil, ehdsi.App(ehdsi.ErrPSMissingRequiredFields, "The national patient summary has no patient identifier.", fmt.Errorf("%w: patient id", ErrInvalid))
	}
	b := &builder{s: s, opt: opt, term: opt.Terminology, lang: opt.Language, idRoot: opt.IDRoot}
	if b.lang == "" {
		b.lang = "fr-LU"
	}
	if b.idRoot == "" {
		b.idRoot = DefaultIDRoot
	}
	b.l = labelsFor(b.lang)
	b.hash = ContentHash(s)
	b.docID = DocumentID(b.idRoot, b.hash, level)
	b.time = opt.Time
	if b.time.IsZero() {
		b.time = s.Created
	}
	if b.time.IsZero() {
		return nil, ehdsi.App(ehdsi.ErrPSMissingRequiredFields, "The national patient summary has no date.", fmt.Errorf("%w: created time", ErrInvalid))
	}
	return b, nil
}

// fail turns a transcoding failure into the eHDSI fault; other errors are
// wrapped as they are.
func (b *builder) fail(err error) error {
	var te *cda.TranscodeError
	if errors.As(err, &te) {
		return ehdsi.App(ehdsi.ErrRequiredCodedElementNotTranscoded,
			"A code required by the patient summary could not be transcoded to the eHDSI Master Value Catalogue ("+ehdsi.Describe(ehdsi.ErrPSMissingExpectedMapping)+")", err)
	}
	var f *ehdsi.Fault
	if errors.As(err, &f) {
		return err
	}
	var ie *cda.InputError
	if errors.As(err, &ie) {
		return ehdsi.App(ehdsi.ErrPSMissingRequiredFields, ehdsi.Describe(ehdsi.ErrPSMissingRequiredFields), err)
	}
	return fmt.Errorf("build patient summary: %w", err)
}

func (b *builder) header(template string, doc terminology.DocType) cda.Header {
	s := b.s
	author := s.Author
	if author.Time.IsZero() {
		author.Time = b.time
	}
	cust := b.opt.Custodian
	if cust.Name == "" {
		cust = s.Custodian
	}
	if cust.Name == "" {
		cust = author.Organization
	}
	if len(cust.IDs) == 0 {
		cust.IDs = []cda.II{{Root: ehdsi.HomeCommunityLU}}
	}
	if author.Organization.Name == "" {
		author.Organization = cust
	}
	// eHDSI requires a country on every organisation; national ones are in Luxembourg.
	if author.Organization.Addr.Country == "" {
		author.Organization.Addr.Country = "LU"
	}
	if cust.Addr.Country == "" {
		cust.Addr.Country = "LU"
	}
	parent := s.Source
	if parent.Root == "" {
		parent = cda.II{Root: b.idRoot, Extension: b.hash[:32]}
	}
	low := s.Created
	return cda.Header{
		Doc:                doc,
		TemplateIDs:        []string{template},
		ID:                 b.docID,
		Code:               terminology.Coding{Code: ehdsi.ClassPS, System: ehdsi.LOINC, Display: "Patient summary Document"},
		Title:              b.l.word("title"),
		EffectiveTime:      b.time,
		Language:           b.lang,
		SetID:              cda.II{Root: b.idRoot, Extension: b.hash[:32]},
		Version:            1,
		Patient:            s.Patient,
		Authors:            []cda.Author{author},
		Custodian:          cust,
		LegalAuthenticator: author.Professional,
		LegalAuthTime:      author.Time,
		Participants:       []*etree.Element{b.contact()},
		ServiceEvent:       &cda.ServiceEvent{ClassCode: "PCPR", High: low},
		ParentDocument:     &parent,
	}
}

// contact writes the mandatory patient contact participant: the national
// contact person, or else the authoring professional as preferred contact.
func (b *builder) contact() *etree.Element {
	p := etree.NewElement("participant")
	p.CreateAttr("typeCode", "IND")
	cda.AppendTemplateID(p, "1.3.6.1.4.1.19376.1.5.3.1.2.4")
	ae := p.CreateElement("associatedEntity")
	c := b.s.Contact
	if c == nil {
		a := b.s.Author
		ae.CreateAttr("classCode", "PRS")
		cda.AppendAddr(ae, a.Addr)
		cda.AppendTelecoms(ae, a.Telecoms)
		ap := ae.CreateElement("associatedPerson")
		cda.AppendName(ap, a.Name)
		return p
	}
	ae.CreateAttr("classCode", "NOK")
	if c.Relationship.Code != "" {
		cc, _ := cda.Transcode(b.term, cda.Spec{Element: "/ClinicalDocument/participant/associatedEntity/code",
			ValueSet: "1.3.6.1.4.1.12559.11.10.1.3.1.42.38", Usage: terminology.UsageOptional}, c.Relationship, "")
		if cc.Null == "" {
			cda.AppendCoded(ae, "code", cc)
		}
	}
	cda.AppendAddr(ae, c.Addr)
	cda.AppendTelecoms(ae, c.Telecoms)
	ap := ae.CreateElement("associatedPerson")
	cda.AppendName(ap, c.Name)
	return p
}

// spec names a coded element for the terminology.
type spec struct {
	el    string
	vs    string
	usage terminology.Usage
}

// code transcodes in for sp. RNFA elements may be nullFlavored only with an
// original text; without one they fail like required elements.
func (b *builder) code(sp spec, in Coding, text string) (cda.Coded, error) {
	if text == "" {
		text = in.Display
	}
	c, err := cda.Transcode(b.term, cda.Spec{Element: sp.el, ValueSet: sp.vs, Usage: sp.usage}, in, text)
	if err != nil {
		return c, err
	}
	if c.Null == "UNK" && c.Text != "" {
		c.Null = "OTH" // dtr1-1: only OTH (or NA) may carry an originalText
	}
	if c.Null != "" && sp.usage == terminology.UsageRNFA && c.Text == "" {
		return c, &cda.TranscodeError{Element: sp.el, ValueSet: sp.vs, Usage: sp.usage, Code: in,
			Err: errors.New("not transcodable and no original text for a nullFlavor")}
	}
	return c, nil
}

// display is what the narrative shows for a coded item: the national text,
// the national display, or the MVC display.
func display(text string, in Coding, c cda.Coded) string {
	switch {
	case text != "":
		return text
	case in.Display != "":
		return in.Display
	case c.MVC.Display != "":
		return c.MVC.Display
	}
	return in.Code
}

// translator is implemented by catalogues with MVC translations
// (*terminology.Catalogue: EDQM terms in fr/de/nl/pt).
type translator interface {
	Translate(code terminology.Coding, langs ...string) (terminology.Translated, bool)
}

// mvcDisplay is the narrative text of an MVC code: its translation into the
// document language when the terminology has one, else the English display.
func (b *builder) mvcDisplay(c cda.Coded) string {
	if c.Null != "" {
		return c.Text
	}
	if tr, ok := b.term.(translator); ok {
		primary, _, _ := strings.Cut(b.lang, "-")
		if t, ok := tr.Translate(c.MVC, b.lang); ok && t.Text != "" && strings.HasPrefix(t.Lang, primary) {
			return t.Text
		}
	}
	return c.MVC.Display
}

func (b *builder) entryID(el *etree.Element, sec string, i int, sub ...int) {
	ext := b.hash[:16] + "." + sec + "." + strconv.Itoa(i+1)
	for _, s := range sub {
		ext += "." + strconv.Itoa(s)
	}
	cda.AppendII(el, "id", cda.II{Root: b.idRoot, Extension: ext})
}

// section appends a section with its templateIds and LOINC code.
func (b *builder) section(body *etree.Element, templates []string, code, display string) (sec, text *etree.Element) {
	b.narr = append(b.narr, narrSection{title: b.l.sections[code]})
	return cda.AppendSection(body, templates, cda.II{}, cda.MVCOnly(Coding{Code: code, System: OIDLOINC, Display: display}), b.l.sections[code])
}

// table writes a narrative table; each row gets the ID rowID(i) so entries
// can reference it.
func (b *builder) table(text *etree.Element, headers []string, rows [][]string, rowID func(int) string) {
	if n := len(b.narr); n > 0 {
		b.narr[n-1].tables = append(b.narr[n-1].tables, narrTable{headers, rows})
	}
	t := text.CreateElement("table")
	t.CreateAttr("border", "1")
	tr := t.CreateElement("thead").CreateElement("tr")
	for _, h := range headers {
		tr.CreateElement("th").SetText(h)
	}
	tb := t.CreateElement("tbody")
	for i, r := range rows {
		tr := tb.CreateElement("tr")
		tr.CreateAttr("ID", rowID(i))
		for _, c := range r {
			tr.CreateElement("td").SetText(c)
		}
	}
}

func (b *builder) cols(keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = b.l.cols[k]
	}
	return out
}

func ref(el *etree.Element, id string) { cda.AppendTextReference(el, id) }

func status(el *etree.Element, code string) { el.CreateElement("statusCode").CreateAttr("code", code) }

// ts writes <tag value=…/> from a FHIR-style date; nullFlavor UNK when empty.
func ts(parent *etree.Element, tag, date string) *etree.Element {
	return cda.AppendTS(parent, tag, cda.DateTS(date))
}

// ivl writes an interval with low (UNK when empty) and high only when set.
func ivl(parent *etree.Element, tag, low, high string, xsiType bool) *etree.Element {
	el := parent.CreateElement(tag)
	if xsiType {
		el.CreateAttr("xsi:type", "IVL_TS")
	}
	ts(el, "low", low)
	if high != "" {
		ts(el, "high", high)
	}
	return el
}

func templates(el *etree.Element, roots ...string) {
	for _, r := range roots {
		cda.AppendTemplateID(el, r)
	}
}

// coded writes c as tag with an xsi:type (CD or CE) for observation values.
func coded(parent *etree.Element, tag, xsiType string, c cda.Coded) *etree.Element {
	el := parent.CreateElement(tag)
	if xsiType != "" {
		el.CreateAttr("xsi:type", xsiType)
	}
	cda.SetCoded(el, c)
	return el
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
