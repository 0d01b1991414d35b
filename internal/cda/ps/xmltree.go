package ps

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what the readers accept from the national side.
type Limits struct {
	MaxBytes    int // whole document; default 8 MiB
	MaxDepth    int // element nesting; default 64
	MaxElements int // elements (XML) or entries (FHIR Bundle); default 100000
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 8 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 100000
	}
	return l
}

// ErrMalformed is wrapped by reader errors about input that is not a
// readable national Patient Summary (eHDSI ERROR_PS_INCORRECT_FORMATTING
// territory on the national side: the caller reports a national failure).
var ErrMalformed = errors.New("malformed national patient summary")

// ErrTooLarge is wrapped when the input exceeds a Limit.
var ErrTooLarge = errors.New("national patient summary exceeds limits")

// node is a minimal, namespace-aware XML element tree for reading.
type node struct {
	space, name string
	attrs       []xml.Attr
	kids        []*node
	text        strings.Builder
	parent      *node
}

const nsHL7 = "urn:hl7-org:v3"

// parseXML reads data into a tree, refusing DTDs and enforcing limits.
func parseXML(data []byte, lim Limits) (*node, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var root, cur *node
	depth, count := 0, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch tk := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: DTD or directive not allowed", ErrMalformed)
		case xml.StartElement:
			depth++
			count++
			if depth > lim.MaxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrTooLarge, lim.MaxDepth)
			}
			if count > lim.MaxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrTooLarge, lim.MaxElements)
			}
			n := &node{space: tk.Name.Space, name: tk.Name.Local, attrs: append([]xml.Attr(nil), tk.Attr...), parent: cur}
			if cur == nil {
				if root != nil {
					return nil, fmt.Errorf("%w: several root elements", ErrMalformed)
				}
				root = n
			} else {
				cur.kids = append(cur.kids, n)
			}
			cur = n
		case xml.EndElement:
			if cur == nil {
				return nil, fmt.Errorf("%w: unbalanced end element", ErrMalformed)
			}
			depth--
			cur = cur.parent
		case xml.CharData:
			if cur != nil && cur.text.Len() < 1<<16 && len(bytes.TrimSpace(tk)) > 0 {
				cur.text.Write(tk)
			}
		}
	}
	if root == nil || cur != nil {
		return nil, fmt.Errorf("%w: no complete document element", ErrMalformed)
	}
	if err := resolveNS(root, map[string]string{"xml": "http://www.w3.org/XML/1998/namespace"}); err != nil {
		return nil, err
	}
	return root, nil
}

// resolveNS replaces prefixes by namespace URIs (RawToken leaves them
// unresolved); an undeclared prefix is an error.
func resolveNS(n *node, scope map[string]string) error {
	local, copied := scope, false
	for _, a := range n.attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			if !copied {
				copied = true
				local = make(map[string]string, len(scope)+2)
				for k, v := range scope {
					local[k] = v
				}
			}
			if a.Name.Space == "xmlns" {
				local[a.Name.Local] = a.Value
			} else {
				local[""] = a.Value
			}
		}
	}
	ns, ok := local[n.space]
	if !ok && n.space != "" {
		return fmt.Errorf("%w: undeclared prefix %q", ErrMalformed, n.space)
	}
	n.space = ns
	for i, a := range n.attrs {
		if a.Name.Space != "" && a.Name.Space != "xmlns" {
			if u, ok := local[a.Name.Space]; ok {
				n.attrs[i].Name.Space = u
			}
		}
	}
	for _, k := range n.kids {
		if err := resolveNS(k, local); err != nil {
			return err
		}
	}
	return nil
}

// attr returns the value of the un-namespaced attribute name.
func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == nsHL7) {
			return a.Value
		}
	}
	return ""
}

// xsiType returns @xsi:type without prefix.
func (n *node) xsiType() string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == "type" && a.Name.Space == "http://www.w3.org/2001/XMLSchema-instance" {
			if i := strings.IndexByte(a.Value, ':'); i >= 0 {
				return a.Value[i+1:]
			}
			return a.Value
		}
	}
	return ""
}

// child returns the first HL7 child named name.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name && k.space == nsHL7 {
			return k
		}
	}
	return nil
}

// children returns the HL7 children named name.
func (n *node) children(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.name == name && k.space == nsHL7 {
			out = append(out, k)
		}
	}
	return out
}

// path follows child names.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// hasTemplate reports whether n has a templateId with root.
func (n *node) hasTemplate(root string) bool {
	for _, t := range n.children("templateId") {
		if t.attr("root") == root {
			return true
		}
	}
	return false
}

// allText is the concatenated text of n and its descendants, whitespace-normalised.
func (n *node) allText() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*node)
	walk = func(x *node) {
		b.WriteString(x.text.String())
		b.WriteByte(' ')
		for _, k := range x.kids {
			walk(k)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// ids indexes every element with an ID attribute (narrative anchors).
func (n *node) ids(into map[string]*node) {
	if v := n.attr("ID"); v != "" {
		into[v] = n
	}
	for _, k := range n.kids {
		k.ids(into)
	}
}
