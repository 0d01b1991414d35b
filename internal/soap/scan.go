package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Limits bound what Read accepts from outside. A zero field means the
// default of DefaultLimits.
type Limits struct {
	// MaxBytes caps the HTTP request body (the whole multipart for MTOM).
	MaxBytes int64
	// MaxDepth caps element nesting in the SOAP envelope (Envelope is 1).
	MaxDepth int
	// MaxElements caps the number of elements in the SOAP envelope.
	MaxElements int
	// MaxAttachments caps the MIME parts of an MTOM message besides the root.
	MaxAttachments int
}

// Defaults of Limits.
const (
	DefaultMaxBytes       = 10 << 20
	DefaultMaxDepth       = 64
	DefaultMaxElements    = 100000
	DefaultMaxAttachments = 32
)

// DefaultLimits returns the limits luxncp applies unless configured:
// 10 MiB, depth 64, 100 000 elements, 32 attachments.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:       DefaultMaxBytes,
		MaxDepth:       DefaultMaxDepth,
		MaxElements:    DefaultMaxElements,
		MaxAttachments: DefaultMaxAttachments,
	}
}

// withDefaults fills zero (or negative) fields with the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = d.MaxAttachments
	}
	return l
}

// Sentinel causes of scan failures; the public fault message is chosen from them.
var (
	errTooDeep        = errors.New("xml: nesting too deep")
	errTooMany        = errors.New("xml: too many elements")
	errDTD            = errors.New("xml: DTD or entity declaration present")
	errProcInst       = errors.New("xml: processing instruction present")
	errCharset        = errors.New("xml: unsupported charset")
	errNotWellFormed  = errors.New("xml: not well-formed")
	errNamespaceQuirk = errors.New("xml: ambiguous name or namespace")
)

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// utf8BOM is stripped before parsing; encoding/xml does not accept it.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// utf8Compatible reports whether an XML declaration's encoding label names
// UTF-8 or a subset of it.
func utf8Compatible(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

type nsBinding struct {
	prefix, uri string
}

// parseXML builds the etree document from data in one pass over the
// tokens, checking as it goes: well-formedness (including tag matching,
// which RawToken does not check), limits, no DTD, no processing
// instruction but a leading XML declaration, UTF-8 only, and no name that
// encoding/xml resolves ambiguously (unbound prefixes, empty prefix or
// local part, duplicate attributes by expanded name). The tree keeps every
// token as read, prefixes and whitespace included.
func parseXML(data []byte, lim Limits) (*etree.Document, error) {
	doc := etree.NewDocument()
	count, err := buildTree(doc, data, lim)
	_ = count
	if err != nil {
		return nil, err
	}
	return doc, nil
}

func buildTree(doc *etree.Document, data []byte, lim Limits) (int, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if utf8Compatible(label) {
			return r, nil
		}
		return nil, fmt.Errorf("%w %q", errCharset, label)
	}

	var (
		stack    []xml.Name // open elements, raw prefix and local name
		elems    = []*etree.Element{&doc.Element}
		scopes   []int       // len(bindings) at each open element
		bindings []nsBinding // in-scope prefix declarations, innermost last
		count    int
		rootSeen bool
		first    = true
	)
	lookup := func(prefix string) (string, bool) {
		if prefix == "xml" {
			return nsXML, true
		}
		for i := len(bindings) - 1; i >= 0; i-- {
			if bindings[i].prefix == prefix {
				return bindings[i].uri, bindings[i].uri != "" || prefix == ""
			}
		}
		return "", prefix == ""
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errCharset) {
				return count, err
			}
			return count, fmt.Errorf("%w: %w", errNotWellFormed, err)
		}
		isFirst := first
		first = false
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if rootSeen {
					return count, fmt.Errorf("%w: more than one root element", errNotWellFormed)
				}
				rootSeen = true
			}
			count++
			if count > lim.MaxElements {
				return count, errTooMany
			}
			if len(stack)+1 > lim.MaxDepth {
				return count, errTooDeep
			}
			if err := checkName(t.Name); err != nil {
				return count, err
			}
			scopes = append(scopes, len(bindings))
			// Declarations first: they apply to the element's own name and attributes.
			for _, a := range t.Attr {
				if err := checkName(a.Name); err != nil {
					return count, err
				}
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					if a.Value == nsXML || a.Value == nsXMLNS {
						return count, fmt.Errorf("%w: reserved namespace as default", errNamespaceQuirk)
					}
					bindings = append(bindings, nsBinding{"", a.Value})
				case a.Name.Space == "xmlns":
					if a.Value == "" || a.Name.Local == "xmlns" || a.Value == nsXMLNS ||
						(a.Name.Local == "xml") != (a.Value == nsXML) {
						return count, fmt.Errorf("%w: invalid prefix declaration", errNamespaceQuirk)
					}
					bindings = append(bindings, nsBinding{a.Name.Local, a.Value})
				}
			}
			if _, ok := lookup(t.Name.Space); !ok || t.Name.Space == "xmlns" {
				return count, fmt.Errorf("%w: unbound element prefix", errNamespaceQuirk)
			}
			el := etree.NewElement(t.Name.Local)
			el.Space = t.Name.Space
			var seen []xml.Name
			if len(t.Attr) > 1 {
				seen = make([]xml.Name, 0, len(t.Attr))
			}
			for _, a := range t.Attr {
				key := xml.Name{Local: a.Name.Local}
				switch {
				case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
					key.Space = nsXMLNS
				case a.Name.Space != "":
					uri, ok := lookup(a.Name.Space)
					if !ok || uri == "" {
						return count, fmt.Errorf("%w: unbound attribute prefix", errNamespaceQuirk)
					}
					key.Space = uri
				}
				if key.Space == nsXMLNS && a.Name.Space == "" {
					key.Local = ""
				}
				if seen != nil {
					if slices.Contains(seen, key) {
						return count, fmt.Errorf("%w: duplicate attribute", errNotWellFormed)
					}
					seen = append(seen, key)
				}
				if a.Name.Space == "" {
					el.CreateAttr(a.Name.Local, a.Value)
				} else {
					el.CreateAttr(a.Name.Space+":"+a.Name.Local, a.Value)
				}
			}
			elems[len(elems)-1].AddChild(el)
			elems = append(elems, el)
			stack = append(stack, t.Name)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return count, fmt.Errorf("%w: mismatched end tag", errNotWellFormed)
			}
			stack = stack[:len(stack)-1]
			elems = elems[:len(elems)-1]
			bindings = bindings[:scopes[len(scopes)-1]]
			scopes = scopes[:len(scopes)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return count, fmt.Errorf("%w: text outside the root element", errNotWellFormed)
				}
			}
			// SetData sets the whitespace flag etree's own reader sets.
			elems[len(elems)-1].CreateText("").SetData(string(t))
		case xml.Comment:
			elems[len(elems)-1].CreateComment(string(t))
		case xml.ProcInst:
			if !(isFirst && t.Target == "xml") {
				return count, errProcInst
			}
			doc.CreateProcInst(t.Target, string(t.Inst))
		case xml.Directive:
			return count, errDTD
		}
	}
	if !rootSeen {
		return count, fmt.Errorf("%w: no root element", errNotWellFormed)
	}
	if len(stack) != 0 {
		return count, fmt.Errorf("%w: unclosed element", errNotWellFormed)
	}
	return count, nil
}

// checkName rejects names encoding/xml splits surprisingly: more than one
// colon, an empty prefix or local part (RawToken then returns the whole
// name as Local).
func checkName(n xml.Name) error {
	if n.Local == "" || strings.Contains(n.Local, ":") {
		return fmt.Errorf("%w: name with unexpected colon", errNamespaceQuirk)
	}
	return nil
}
