package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/peertext"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Translator translates a coded value's display (*terminology.Catalogue).
type Translator interface {
	Translate(code terminology.Coding, langs ...string) (terminology.Translated, bool)
}

// Languages a clinician may ask for.
var Languages = []string{"fr", "de", "en"}

// CheckLang normalises a language request ("" → fr).
func CheckLang(lang string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(lang))
	if l == "" {
		return "fr", nil
	}
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	for _, ok := range Languages {
		if l == ok {
			return l, nil
		}
	}
	return "", fmt.Errorf("language %q is not offered (fr, de, en)", lang)
}

// Term is one coded element of a document and what translation made of it.
type Term struct {
	Path     string // element path, e.g. section[2]/entry/…/value
	Code     string
	System   string
	Original string // displayName as received
	Text     string // displayName shown
	Lang     string // language of Text ("" when untranslated)
	// Status: translated, english (no translation in the language: the
	// English MVC display is shown), original (unknown code: the display
	// as received is shown), missing (no display at all).
	Status string
}

// Term statuses.
const (
	StatusTranslated = "translated"
	StatusEnglish    = "english"
	StatusOriginal   = "original"
	StatusMissing    = "missing"
)

// Report summarises a translation.
type Report struct {
	Lang       string `json:"lang"`
	Terms      int    `json:"terms"`
	Translated int    `json:"translated"`
	// Untranslated lists every coded term not available in Lang, with the
	// reason; unknown codes (not in the catalogue) are flagged, not hidden.
	Untranslated []Term `json:"untranslated,omitempty"`
}

// MaxListedTerms bounds how many untranslated terms Report.Listed gives.
const MaxListedTerms = 200

// ListedTerm is one untranslated term as luxncp tells its caller: the code,
// its code system and the display as received (text the sending country
// chose, cleaned by peertext), and what luxncp shows instead.
type ListedTerm struct {
	CodeSystem      string `json:"codeSystem"`
	Code            string `json:"code"`
	OriginalDisplay string `json:"originalDisplay,omitempty"`
	// Status: english (the English MVC display is shown), original (the
	// display as received is kept), missing (no display at all).
	Status string `json:"status"`
	// Shown is the display written in the translated document, and Lang
	// its language ("" when it is the display as received).
	Shown string `json:"shown,omitempty"`
	Lang  string `json:"lang,omitempty"`
}

// Listed returns the untranslated terms, each distinct (code system, code,
// original display) once, at most max of them (MaxListedTerms when max ≤ 0),
// and whether some were left off.
func (r Report) Listed(max int) ([]ListedTerm, bool) {
	if max <= 0 {
		max = MaxListedTerms
	}
	out := []ListedTerm{}
	seen := map[[3]string]bool{}
	for _, t := range r.Untranslated {
		k := [3]string{t.System, t.Code, t.Original}
		if seen[k] {
			continue
		}
		seen[k] = true
		if len(out) == max {
			return out, true
		}
		lt := ListedTerm{CodeSystem: peertext.CleanN(t.System, 128), Code: peertext.CleanN(t.Code, 128),
			OriginalDisplay: peertext.CleanN(t.Original, 256), Status: t.Status, Lang: t.Lang}
		if t.Status == StatusEnglish {
			lt.Shown = peertext.CleanN(t.Text, 256)
		}
		out = append(out, lt)
	}
	return out, false
}

// codedTags are the CDA elements carrying @code/@codeSystem that a
// clinician reads.
var codedTags = map[string]bool{"code": true, "value": true, "routeCode": true, "formCode": true,
	"administrativeGenderCode": true, "functionCode": true, "confidentialityCode": true,
	"approachSiteCode": true, "targetSiteCode": true, "priorityCode": true, "methodCode": true,
	"interpretationCode": true, "translation": false}

// lookup translates one coded element (pure).
func lookup(tr Translator, el *etree.Element, lang string) (Term, bool) {
	if el == nil {
		return Term{}, false
	}
	code := el.SelectAttrValue("code", "")
	sys := el.SelectAttrValue("codeSystem", "")
	if code == "" || sys == "" || !codedTags[el.Tag] {
		return Term{}, false
	}
	orig := el.SelectAttrValue("displayName", "")
	t := Term{Code: code, System: sys, Original: orig, Text: orig}
	res, ok := tr.Translate(terminology.Coding{Code: code, System: sys, Display: orig}, lang)
	if !ok || res.Lang != lang {
		// The term's own <translation> children (HL7 or epSOS data type)
		// may carry a code the catalogue knows in lang, or in English.
		for _, tc := range el.SelectElements("translation") {
			c, s := tc.SelectAttrValue("code", ""), tc.SelectAttrValue("codeSystem", "")
			if c == "" || s == "" {
				continue
			}
			r, found := tr.Translate(terminology.Coding{Code: c, System: s, Display: tc.SelectAttrValue("displayName", "")}, lang)
			if found && (!ok || r.Lang == lang) {
				res, ok = r, true
			}
			if found && r.Lang == lang {
				break
			}
		}
	}
	switch {
	case ok && res.Lang == lang:
		t.Text, t.Lang, t.Status = res.Text, res.Lang, StatusTranslated
	case ok:
		t.Text, t.Lang, t.Status = res.Text, res.Lang, StatusEnglish
	case orig != "":
		t.Status = StatusOriginal
	default:
		t.Status = StatusMissing
	}
	return t, true
}

const (
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"
	nsEpSOS = "urn:epsos-org:ep:medication"
)

// ErrNotCDA is returned for input that is not an HL7 CDA document.
var ErrNotCDA = errors.New("not an HL7 CDA ClinicalDocument")

// ParseCDA reads a CDA document (no DTDs; etree does not resolve entities).
func ParseCDA(data []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCDA, err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "ClinicalDocument" || root.NamespaceURI() != "urn:hl7-org:v3" {
		return nil, ErrNotCDA
	}
	return doc, nil
}

// Translate returns the document with every coded element's displayName in
// lang (or, when the catalogue has none in lang, in English; a code the
// catalogue does not know is looked up through the element's own
// <translation> children): the element keeps its code and gets the translated displayName,
// and the display as received is kept in a first <translation> child
// carrying the same code and code system. Elements with no display at all
// are left as they are; they and those shown in English are listed in the
// report.
func Translate(data []byte, tr Translator, lang string) ([]byte, Report, error) {
	doc, err := ParseCDA(data)
	if err != nil {
		return nil, Report{}, err
	}
	return TranslateDocument(doc, tr, lang)
}

// TranslateDocument is Translate on a parsed document, which it modifies.
func TranslateDocument(doc *etree.Document, tr Translator, lang string) ([]byte, Report, error) {
	lang, err := CheckLang(lang)
	if err != nil {
		return nil, Report{}, err
	}
	if doc.Root() == nil {
		return nil, Report{}, ErrNotCDA
	}
	rep := Report{Lang: lang}
	// <translation> is an HL7 element even under pharm:code: write it with
	// the prefix the document uses for urn:hl7-org:v3 (the root's). The
	// pre-2022 epSOS medication schema (urn:epsos-org:ep:medication) has
	// its own data types: under epsos:code the child is epsos:translation.
	hl7Prefix := doc.Root().Space
	var walk func(el *etree.Element, path string)
	walk = func(el *etree.Element, path string) {
		for _, c := range el.ChildElements() {
			p := path + "/" + c.Tag
			if t, ok := lookup(tr, c, lang); ok {
				t.Path = p
				rep.Terms++
				// No display in lang: the English one before the text as
				// received (the report still lists the term).
				if (t.Status == StatusTranslated || t.Status == StatusEnglish) && t.Text != "" && t.Text != t.Original {
					orig := etree.NewElement("translation")
					orig.Space = hl7Prefix
					if c.NamespaceURI() == nsEpSOS {
						orig.Space = c.Space
					}
					for _, a := range c.Attr {
						if a.Key == "code" || a.Key == "codeSystem" || a.Key == "codeSystemName" || a.Key == "displayName" {
							orig.CreateAttr(a.Key, a.Value)
						}
					}
					// CD content order: originalText, qualifier, then translations.
					at := 0
					for i, tok := range c.Child {
						if e, ok := tok.(*etree.Element); ok && (e.Tag == "originalText" || e.Tag == "qualifier") {
							at = i + 1
						}
					}
					c.InsertChildAt(at, orig)
					c.CreateAttr("displayName", t.Text)
				}
				if t.Status == StatusTranslated {
					rep.Translated++
				} else {
					rep.Untranslated = append(rep.Untranslated, t)
				}
			}
			if c.Tag != "translation" {
				walk(c, p)
			}
		}
	}
	walk(doc.Root(), "ClinicalDocument")
	// A signature over the received bytes no longer holds for the
	// translation: drop it (the original keeps it).
	for _, c := range doc.Root().ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			doc.Root().RemoveChild(c)
		}
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, rep, err
	}
	return out, rep, nil
}
