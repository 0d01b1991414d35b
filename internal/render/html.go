package render

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/peertext"
)

//go:embed document.html.tmpl
var pageTemplate string

// page is parsed once per Renderer.
var funcs = template.FuncMap{"lower": strings.ToLower, "inc": func(i int) int { return i + 1 }}

// Renderer renders documents to HTML. Build it once with NewRenderer and
// share it: it is safe for concurrent use.
type Renderer struct {
	tmpl *template.Template
	tr   Translator
	csp  string
}

// NewRenderer parses the page template.
func NewRenderer(tr Translator) (*Renderer, error) {
	t, err := template.New("page").Funcs(funcs).Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	csp, err := pagePolicy(pageTemplate)
	if err != nil {
		return nil, err
	}
	return &Renderer{tmpl: t, tr: tr, csp: csp}, nil
}

// ContentSecurityPolicy is the Content-Security-Policy (W3C CSP Level 3)
// to serve the rendered pages with: nothing loads from anywhere, and the
// only style and script that run are the page's own <style> and <script>
// blocks, allowed by their SHA-256 hashes (no 'unsafe-inline'). Whatever a
// document smuggled into the page could not run.
func (r *Renderer) ContentSecurityPolicy() string { return r.csp }

// pagePolicy hashes the template's inline <style> and <script> blocks,
// which are static text (no template actions) and so served byte for byte.
func pagePolicy(page string) (string, error) {
	hash := func(tag string) (string, error) {
		open, end := "<"+tag+">", "</"+tag+">"
		i, j := strings.Index(page, open), strings.Index(page, end)
		if i < 0 || j < i || strings.Count(page, open) != 1 {
			return "", fmt.Errorf("render: the page template needs exactly one <%s> block", tag)
		}
		body := page[i+len(open) : j]
		if strings.Contains(body, "{{") {
			return "", fmt.Errorf("render: the <%s> block of the page template must be static", tag)
		}
		sum := sha256.Sum256([]byte(body))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'", nil
	}
	style, err := hash("style")
	if err != nil {
		return "", err
	}
	script, err := hash("script")
	if err != nil {
		return "", err
	}
	return "default-src 'none'; style-src " + style + "; script-src " + script +
		"; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", nil
}

// Options of one rendering.
type Options struct {
	Lang string // fr, de or en
	// SourceCountry is the ISO code of the country that sent the document
	// (the banner shows it even when the document's realmCode is absent).
	SourceCountry string
	// Notes are luxncp's warnings to show above the document (e.g. checks
	// that failed on the received document), in the reader's language.
	Notes []Note
}

type termView struct {
	Label, Text, Code, System, Status, Note, Lang string
}

type entryView struct {
	Name  string
	Terms []termView
}

type sectionView struct {
	Level     int
	Title     string // in the reader's language when the code is known
	Source    string // the document's own title, when it differs
	Items     []itemView
	rank      int
	Code      termView
	Narrative template.HTML
	Entries   []entryView
}

type view struct {
	Lang, DocLang                     string
	L                                 labels
	Title, Kind, Country, CountryName string
	Date, DocID                       string
	PatientName, BirthDate, Gender    string
	PatientIDs                        []string
	Address                           string
	Author, Organisation, Custodian   string
	Sections                          []sectionView
	Untranslated, Unknown, TermsTotal int
	Notes                             []string
}

// Notice is the sentence on the terms not shown in the reader's language.
func (v view) Notice() template.HTML { return v.L.notice(v.Untranslated, v.Unknown, v.TermsTotal) }

// HTML renders a CDA document. The output depends only on the inputs.
func (r *Renderer) HTML(w io.Writer, data []byte, opt Options) error {
	lang, err := CheckLang(opt.Lang)
	if err != nil {
		return err
	}
	doc, err := ParseCDA(data)
	if err != nil {
		return err
	}
	return r.tmpl.Execute(w, r.build(doc.Root(), lang, opt))
}

// HTMLDocument renders an already parsed CDA document (not modified).
func (r *Renderer) HTMLDocument(w io.Writer, doc *etree.Document, opt Options) error {
	lang, err := CheckLang(opt.Lang)
	if err != nil {
		return err
	}
	if doc.Root() == nil {
		return ErrNotCDA
	}
	return r.tmpl.Execute(w, r.build(doc.Root(), lang, opt))
}

// HTMLBytes is HTML into a byte slice.
func (r *Renderer) HTMLBytes(data []byte, opt Options) ([]byte, error) {
	var b bytes.Buffer
	if err := r.HTML(&b, data, opt); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func child(el *etree.Element, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	return el.SelectElement(tag)
}

func path(el *etree.Element, tags ...string) *etree.Element {
	for _, t := range tags {
		el = child(el, t)
	}
	return el
}

// Text read from the received document reaches the page only through
// clean, peertext's rule (issue 24): no control, format or bidirectional
// character (U+202A–U+202E overrides and embeddings, U+2066–U+2069
// isolates, U+200B–U+200F, U+2060–U+2064, U+FEFF, U+061C, C0 and C1
// controls), valid UTF-8. With max 0 (narrative text) the spacing is kept
// and nothing is cut; otherwise the text is made one line and cut to max
// bytes with a visible "… [truncated from N bytes, sha256:…]".
func clean(s string, max int) string {
	if max == 0 {
		return peertext.Strip(s)
	}
	return peertext.CleanN(s, max)
}

// Bounds of the cleaned text: a header field (title, names, organisation,
// identifiers) and any other single text or attribute value.
const (
	fieldBytes = 256
	textBytes  = peertext.Max
)

func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return clean(el.Text(), textBytes)
}

func attr(el *etree.Element, a string) string {
	if el == nil {
		return ""
	}
	return clean(el.SelectAttrValue(a, ""), textBytes)
}

// field is a header field: cleaned and cut to fieldBytes.
func field(s string) string { return clean(s, fieldBytes) }

func personName(n *etree.Element) string {
	if n == nil {
		return ""
	}
	var parts []string
	for _, tag := range []string{"prefix", "given", "family", "suffix"} {
		for _, e := range n.SelectElements(tag) {
			if t := text(e); t != "" {
				parts = append(parts, t)
			}
		}
	}
	if len(parts) == 0 {
		return text(n)
	}
	return strings.Join(parts, " ")
}

func (r *Renderer) term(el *etree.Element, label, lang string, v *view) (termView, bool) {
	if el == nil {
		return termView{}, false
	}
	t, ok := lookup(r.tr, el, lang)
	if !ok {
		if nf := attr(el, "nullFlavor"); nf != "" && label != "" {
			ot := text(child(el, "originalText"))
			if ot == "" {
				return termView{}, false
			}
			return termView{Label: label, Text: ot, Status: StatusOriginal, Note: v.L.NullFlavor + " (" + nf + ")"}, true
		}
		return termView{}, false
	}
	tv := termView{Label: label, Text: clean(t.Text, textBytes), Code: clean(t.Code, textBytes), System: clean(t.System, textBytes),
		Status: t.Status, Lang: t.Lang}
	v.TermsTotal++
	switch t.Status {
	case StatusEnglish:
		tv.Note = v.L.NotTranslated
		v.Untranslated++
	case StatusOriginal:
		tv.Note = v.L.Unknown
		v.Unknown++
	case StatusMissing:
		tv.Note = v.L.Unknown
		tv.Text = t.Code
		v.Unknown++
	}
	return tv, true
}

func (r *Renderer) build(root *etree.Element, lang string, opt Options) view {
	v := view{Lang: lang, L: uiLabels[lang], Notes: Texts(opt.Notes, lang)}
	v.DocLang = attr(child(root, "languageCode"), "code")
	v.Title = field(text(child(root, "title")))
	switch attr(child(root, "code"), "code") {
	case "60591-5":
		v.Kind = v.L.PS
	case "57833-6":
		v.Kind = v.L.EP
	case "60593-1":
		v.Kind = v.L.ED
	default:
		v.Kind = field(attr(child(root, "code"), "displayName"))
	}
	v.Country = strings.ToUpper(opt.SourceCountry)
	if v.Country == "" {
		v.Country = attr(child(root, "realmCode"), "code")
	}
	v.CountryName = countryNames[lang][v.Country]
	if v.CountryName == "" {
		v.CountryName = v.Country
	}
	v.Date = formatDate(attr(child(root, "effectiveTime"), "value"), lang)
	v.DocID = attr(child(root, "id"), "root")
	if ext := attr(child(root, "id"), "extension"); ext != "" {
		v.DocID += "^" + ext
	}
	v.DocID = field(v.DocID)
	pr := path(root, "recordTarget", "patientRole")
	pat := child(pr, "patient")
	v.PatientName = field(personName(child(pat, "name")))
	v.BirthDate = formatDate(attr(child(pat, "birthTime"), "value"), lang)
	if g := v.L.Genders[attr(child(pat, "administrativeGenderCode"), "code")]; g != "" {
		v.Gender = g
	} else if g, ok := r.term(child(pat, "administrativeGenderCode"), "", lang, &v); ok {
		v.Gender = g.Text
	}
	if pr != nil {
		for _, id := range pr.SelectElements("id") {
			s := attr(id, "extension")
			if a := attr(id, "assigningAuthorityName"); a != "" {
				s += " (" + a + ")"
			} else if rt := attr(id, "root"); rt != "" {
				s += " (" + rt + ")"
			}
			v.PatientIDs = append(v.PatientIDs, field(s))
		}
		if a := child(pr, "addr"); a != nil {
			var parts []string
			for _, c := range a.ChildElements() {
				if t := text(c); t != "" {
					parts = append(parts, t)
				}
			}
			v.Address = field(strings.Join(parts, ", "))
		}
	}
	aa := path(root, "author", "assignedAuthor")
	v.Author = field(personName(path(aa, "assignedPerson", "name")))
	v.Organisation = field(text(path(aa, "representedOrganization", "name")))
	v.Custodian = field(text(path(root, "custodian", "assignedCustodian", "representedCustodianOrganization", "name")))
	body := path(root, "component", "structuredBody")
	if body != nil {
		for _, comp := range body.SelectElements("component") {
			r.section(child(comp, "section"), 2, lang, &v)
		}
		// Most important first: allergies and current medication lead a
		// Patient Summary (a stable sort keeps the rest as sent).
		sort.SliceStable(v.Sections, func(i, j int) bool { return v.Sections[i].rank < v.Sections[j].rank })
	} else if nb := path(root, "component", "nonXMLBody"); nb != nil {
		v.Sections = append(v.Sections, sectionView{Level: 2, Title: v.L.Embedded})
	}
	return v
}

func (r *Renderer) section(s *etree.Element, level int, lang string, v *view) {
	if s == nil {
		return
	}
	sv := sectionView{Level: level, Title: field(text(child(s, "title"))), rank: 9}
	code := attr(child(s, "code"), "code")
	if rk, ok := sectionRank[code]; ok && level == 2 {
		sv.rank = rk
	}
	if level > 2 {
		sv.rank = len(v.Sections) // subsections stay after their parent
		if n := len(v.Sections); n > 0 {
			sv.rank = v.Sections[n-1].rank
		}
	}
	if t := sectionTitles[code][lang]; t != "" {
		if sv.Title != "" && !strings.EqualFold(sv.Title, t) {
			sv.Source = sv.Title
		}
		sv.Title = t
	} else if c, ok := r.term(child(s, "code"), v.L.Section, lang, v); ok {
		sv.Code = c
		if sv.Title == "" {
			sv.Title = c.Text
		}
	}
	if level > 6 {
		sv.Level = 6
	}
	sv.Narrative = narrative(child(s, "text"))
	for _, e := range s.SelectElements("entry") {
		if sa := child(e, "substanceAdministration"); sa != nil && attr(sa, "moodCode") == "INT" {
			if it, ok := r.prescribedItem(sa, lang, v); ok {
				sv.Items = append(sv.Items, it)
			}
		}
		ev := entryView{}
		r.entryTerms(e, lang, v, &ev, 0)
		if ev.Name != "" || len(ev.Terms) > 0 {
			sv.Entries = append(sv.Entries, ev)
		}
	}
	v.Sections = append(v.Sections, sv)
	for _, comp := range s.SelectElements("component") {
		r.section(child(comp, "section"), level+1, lang, v)
	}
}

// labelFor names a coded element by its place in the entry.
func labelFor(el *etree.Element, L labels) string {
	parent := ""
	if p := el.Parent(); p != nil {
		parent = p.Tag
	}
	switch {
	case el.Tag == "code" && (parent == "ingredientSubstance" || parent == "generalizedMaterialKind"):
		return L.Ingredient
	case el.Tag == "code" && parent == "ingredient" && el.Parent().Parent() != nil && el.Parent().Parent().Tag == "ingredient":
		return L.Ingredient // epSOS: epsos:ingredient/epsos:ingredient/epsos:code
	case el.Tag == "code" && (parent == "containerPackagedProduct" || parent == "containerPackagedMedicine"):
		return L.Package
	case el.Tag == "code" && parent == "playingEntity":
		return L.Agent
	case el.Tag == "code" && parent == "manufacturedMaterial":
		return L.Product
	case el.Tag == "formCode":
		if parent == "containerPackagedProduct" {
			return L.Package
		}
		return L.DoseForm
	case el.Tag == "routeCode":
		return L.Route
	case el.Tag == "value":
		return L.Value
	case el.Tag == "targetSiteCode", el.Tag == "approachSiteCode":
		return L.Site
	}
	return L.Code
}

func (r *Renderer) entryTerms(el *etree.Element, lang string, v *view, ev *entryView, depth int) {
	if depth > 12 {
		return
	}
	for _, c := range el.ChildElements() {
		switch c.Tag {
		case "templateId", "id", "text", "statusCode", "effectiveTime", "reference", "translation", "originalText":
			continue
		case "name":
			if el.Tag == "manufacturedMaterial" && ev.Name == "" {
				ev.Name = field(text(c))
			}
			continue
		}
		// Skip structural act codes (CONC, ASSERTION…) that say nothing to a clinician.
		if c.Tag == "code" && attr(c, "codeSystem") == "2.16.840.1.113883.5.6" {
			continue
		}
		if c.Tag == "code" && attr(c, "codeSystem") == "2.16.840.1.113883.5.4" {
			continue
		}
		if t, ok := r.term(c, labelFor(c, v.L), lang, v); ok && codedTags[c.Tag] {
			ev.Terms = append(ev.Terms, t)
		}
		r.entryTerms(c, lang, v, ev, depth+1)
	}
}

// narrative converts a CDA narrative block into HTML: a fixed set of
// elements, every text cleaned (no bidi or other format character, see
// clean) and escaped, no attributes carried over (so nothing from the
// document can inject markup or script, nor reorder what it shows).
func narrative(t *etree.Element) template.HTML {
	if t == nil {
		return ""
	}
	var b strings.Builder
	var walk func(el *etree.Element, depth int)
	walk = func(el *etree.Element, depth int) {
		for _, tok := range el.Child {
			switch x := tok.(type) {
			case *etree.CharData:
				b.WriteString(html.EscapeString(clean(x.Data, 0)))
			case *etree.Element:
				if depth > 40 {
					continue
				}
				tag, ok := narrativeTags[x.Tag]
				if x.Tag == "list" && x.SelectAttrValue("listType", "") == "ordered" {
					tag = "ol"
				}
				if !ok {
					tag = "span"
				}
				if tag == "br" {
					b.WriteString("<br>")
					continue
				}
				if tag == "" { // dropped (multimedia)
					continue
				}
				b.WriteString("<" + tag)
				if tag == "th" {
					b.WriteString(` scope="col"`)
				}
				b.WriteString(">")
				walk(x, depth+1)
				b.WriteString("</" + tag + ">")
			}
		}
	}
	walk(t, 0)
	return template.HTML(b.String()) //nolint:gosec // built from escaped text and a fixed tag set
}

var narrativeTags = map[string]string{
	"table": "table", "thead": "thead", "tbody": "tbody", "tfoot": "tfoot", "tr": "tr", "th": "th", "td": "td",
	"caption": "caption", "colgroup": "colgroup", "col": "col", "list": "ul", "item": "li", "paragraph": "p",
	"content": "span", "br": "br", "sub": "sub", "sup": "sup", "footnote": "small", "footnoteRef": "small",
	"linkHtml": "span", "renderMultiMedia": "",
}
