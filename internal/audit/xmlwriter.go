package audit

import (
	"bytes"
	"encoding/base64"
	"strings"
	"sync"
	"unicode/utf8"
)

// xmlWriter writes the audit message straight into a buffer, byte for
// byte as etree wrote the tree it used to build: Document.Indent(4) and
// the default WriteSettings (every element on a line of its own, indented
// four spaces a level; an element without children as "<x …/>"; attribute
// values and text escaped as etree's escapeNormal). The message has no
// mixed content and sets every attribute of an element before its first
// child, so it can be written as it is built: no tree, no indentation
// tokens, no second pass.
//
// The builder functions pass the same *xmlWriter around as "the element":
// start opens a child of the innermost open element and end closes the
// innermost one, so calls must nest as the elements do
// (TestMessageDifferential compares every output with the tree builder's).
type xmlWriter struct {
	b     bytes.Buffer
	stack []frame
	// open: the innermost element's start tag is not closed yet (no '>').
	open bool
}

type frame struct {
	name string
	// children: the element holds elements (its end tag goes on a line
	// of its own); text: it holds text only.
	children, text bool
}

// writers reuses message buffers: each record's message is written into
// one and copied once into the record's string.
var writers = sync.Pool{New: func() any { return &xmlWriter{stack: make([]frame, 0, 8)} }}

// maxPooled: buffers grown beyond this (messages carrying large security
// headers) are not kept.
const maxPooled = 256 << 10

func getWriter() *xmlWriter {
	w := writers.Get().(*xmlWriter)
	w.b.Grow(4 << 10)
	return w
}

func putWriter(w *xmlWriter) {
	if w.b.Cap() > maxPooled {
		return
	}
	w.b.Reset()
	w.stack, w.open = w.stack[:0], false
	writers.Put(w)
}

const indentSpaces = "                                " // 8 levels of 4

func (w *xmlWriter) newline(depth int) {
	w.b.WriteByte('\n')
	for n := depth * 4; n > 0; {
		k := min(n, len(indentSpaces))
		w.b.WriteString(indentSpaces[:k])
		n -= k
	}
}

// closeStart ends the innermost start tag before its content.
func (w *xmlWriter) closeStart() {
	if w.open {
		w.b.WriteByte('>')
		w.open = false
	}
}

// start opens element name inside the innermost open element.
func (w *xmlWriter) start(name string) *xmlWriter {
	w.closeStart()
	if n := len(w.stack); n > 0 {
		w.stack[n-1].children = true
	}
	w.newline(len(w.stack))
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.stack = append(w.stack, frame{name: name})
	w.open = true
	return w
}

// attr writes an attribute of the element just started.
func (w *xmlWriter) attr(key, value string) *xmlWriter {
	w.b.WriteByte(' ')
	w.b.WriteString(key)
	w.b.WriteString(`="`)
	escapeXML(&w.b, value)
	w.b.WriteByte('"')
	return w
}

// base64Attr writes an attribute whose value is data in base64 (nothing
// to escape).
func (w *xmlWriter) base64Attr(key string, data []byte) *xmlWriter {
	w.b.WriteByte(' ')
	w.b.WriteString(key)
	w.b.WriteString(`="`)
	w.base64(data)
	w.b.WriteByte('"')
	return w
}

// base64Text writes data in base64 as the element's text.
func (w *xmlWriter) base64Text(data []byte) *xmlWriter {
	w.closeStart()
	w.stack[len(w.stack)-1].text = true
	w.base64(data)
	return w
}

func (w *xmlWriter) base64(data []byte) {
	w.b.Grow(base64.StdEncoding.EncodedLen(len(data)))
	w.b.Write(base64.StdEncoding.AppendEncode(w.b.AvailableBuffer(), data))
}

// end closes the innermost open element.
func (w *xmlWriter) end() {
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	switch {
	case w.open:
		w.b.WriteString("/>")
		w.open = false
		return
	case f.children:
		w.newline(len(w.stack))
	}
	w.b.WriteString("</")
	w.b.WriteString(f.name)
	w.b.WriteByte('>')
}

// escapeXML writes s escaped as etree's escapeNormal does (attribute
// values and text alike): the five special characters as entities, tab,
// newline and carriage return kept, anything outside XML 1.0's Char
// production and every byte of invalid UTF-8 as U+FFFD.
func escapeXML(b *bytes.Buffer, s string) {
	if !strings.ContainsAny(s, `&<>'"`) && utf8.ValidString(s) && allXMLChars(s) {
		b.WriteString(s)
		return
	}
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\'':
			esc = "&apos;"
		case '"':
			esc = "&quot;"
		default:
			if !xmlChar(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			continue
		}
		b.WriteString(s[last : i-width])
		b.WriteString(esc)
		last = i
	}
	b.WriteString(s[last:])
}

// allXMLChars: every rune of s is an XML 1.0 Char.
func allXMLChars(s string) bool {
	for _, r := range s {
		if !xmlChar(r) {
			return false
		}
	}
	return true
}
