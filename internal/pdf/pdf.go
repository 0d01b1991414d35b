package pdf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// A4 page size and layout defaults, in points.
const (
	PageWidth  = 595.28
	PageHeight = 841.89
	Margin     = 50.0
	BodySize   = 10.0
)

// Document is a PDF under construction. The zero value is not usable; call New.
type Document struct {
	title  string
	footer string
	pages  [][]op
	y      float64
}

type op struct {
	x, y float64
	size float64
	bold bool
	text []byte // WinAnsi encoded; nil for a line
	// line from (x,y) to (x2,y2)
	x2, y2 float64
}

// New starts a document. title goes into the document information
// dictionary; footer (optional) is printed on each page with "page n/N".
func New(title, footer string) *Document {
	d := &Document{title: title, footer: footer}
	d.newPage()
	return d
}

func (d *Document) newPage() {
	d.pages = append(d.pages, nil)
	d.y = PageHeight - Margin
}

// need makes sure h points are left on the page, else starts a new one.
func (d *Document) need(h float64) {
	if d.y-h < Margin+20 {
		d.newPage()
	}
}

func (d *Document) add(o op) {
	n := len(d.pages) - 1
	d.pages[n] = append(d.pages[n], o)
}

// Heading writes a bold line of size 14 (level 1) or 12 (level 2+).
func (d *Document) Heading(level int, text string) {
	size := 14.0
	if level > 1 {
		size = 12
	}
	d.need(size*1.4 + 6)
	d.y -= 6
	d.wrapped(Margin, PageWidth-2*Margin, text, size, true)
}

// Paragraph writes wrapped body text.
func (d *Document) Paragraph(text string) {
	d.wrapped(Margin, PageWidth-2*Margin, text, BodySize, false)
	d.y -= 4
}

// Space moves down by pt points.
func (d *Document) Space(pt float64) { d.y -= pt }

// Rule draws a horizontal line across the text width.
func (d *Document) Rule() {
	d.need(6)
	d.y -= 3
	d.add(op{x: Margin, y: d.y, x2: PageWidth - Margin, y2: d.y})
	d.y -= 3
}

// KeyValues writes label/value pairs, labels bold in a left column.
func (d *Document) KeyValues(pairs [][2]string) {
	labelW := 0.0
	for _, p := range pairs {
		if w := width(Encode(p[0]), BodySize, true); w > labelW {
			labelW = w
		}
	}
	labelW = min(labelW+10, (PageWidth-2*Margin)/2)
	for _, p := range pairs {
		lines := wrap(Encode(p[1]), PageWidth-2*Margin-labelW, BodySize, false)
		labels := wrap(Encode(p[0]), labelW-6, BodySize, true)
		n := max(len(lines), len(labels))
		d.need(float64(n) * BodySize * 1.3)
		y := d.y
		for i, l := range labels {
			d.add(op{x: Margin, y: y - BodySize - float64(i)*BodySize*1.3, size: BodySize, bold: true, text: l})
		}
		for i, l := range lines {
			d.add(op{x: Margin + labelW, y: y - BodySize - float64(i)*BodySize*1.3, size: BodySize, text: l})
		}
		d.y -= float64(n)*BodySize*1.3 + 2
	}
	d.y -= 4
}

// Table writes a ruled table. widths are relative column weights (nil:
// equal); the header row is bold and repeated after a page break.
func (d *Document) Table(headers []string, rows [][]string, widths []float64) {
	cols := len(headers)
	if cols == 0 {
		return
	}
	total := 0.0
	for i := 0; i < cols; i++ {
		if i < len(widths) && widths[i] > 0 {
			total += widths[i]
		} else {
			total++
		}
	}
	colW := make([]float64, cols)
	for i := range colW {
		w := 1.0
		if i < len(widths) && widths[i] > 0 {
			w = widths[i]
		}
		colW[i] = w / total * (PageWidth - 2*Margin)
	}
	const size, pad = 9.0, 3.0
	row := func(cells []string, bold bool) {
		wrapped := make([][][]byte, cols)
		n := 1
		for i := 0; i < cols; i++ {
			s := ""
			if i < len(cells) {
				s = cells[i]
			}
			wrapped[i] = wrap(Encode(s), colW[i]-2*pad, size, bold)
			n = max(n, len(wrapped[i]))
		}
		h := float64(n)*size*1.25 + 2*pad
		d.need(h)
		top := d.y
		x := Margin
		for i := 0; i < cols; i++ {
			for j, l := range wrapped[i] {
				d.add(op{x: x + pad, y: top - pad - size - float64(j)*size*1.25 + 1, size: size, bold: bold, text: l})
			}
			d.add(op{x: x, y: top, x2: x, y2: top - h})
			x += colW[i]
		}
		d.add(op{x: x, y: top, x2: x, y2: top - h})
		d.add(op{x: Margin, y: top, x2: x, y2: top})
		d.add(op{x: Margin, y: top - h, x2: x, y2: top - h})
		d.y -= h
	}
	d.need(size*2.5*2 + 4*pad)
	row(headers, true)
	for _, r := range rows {
		pages := len(d.pages)
		d.need(size*1.25 + 2*pad)
		if len(d.pages) != pages {
			row(headers, true)
		}
		row(r, false)
	}
	d.y -= 8
}

func (d *Document) wrapped(x, w float64, text string, size float64, bold bool) {
	for _, l := range wrap(Encode(text), w, size, bold) {
		d.need(size * 1.3)
		d.y -= size * 1.3
		d.add(op{x: x, y: d.y + size*0.3, size: size, bold: bold, text: l})
	}
}

// wrap splits encoded text into lines no wider than w, breaking at spaces
// (and inside words longer than a line).
func wrap(enc []byte, w float64, size float64, bold bool) [][]byte {
	words := bytes.Fields(enc)
	if len(words) == 0 {
		return [][]byte{{}}
	}
	var lines [][]byte
	var cur []byte
	for _, word := range words {
		for width(word, size, bold) > w && len(word) > 1 {
			// hard-break a long word
			k := len(word)
			for k > 1 && width(word[:k], size, bold) > w {
				k--
			}
			if len(cur) > 0 {
				lines = append(lines, cur)
				cur = nil
			}
			lines = append(lines, word[:k])
			word = word[k:]
		}
		cand := word
		if len(cur) > 0 {
			cand = append(append(append([]byte{}, cur...), ' '), word...)
		}
		if len(cur) > 0 && width(cand, size, bold) > w {
			lines = append(lines, cur)
			cur = append([]byte{}, word...)
		} else {
			cur = cand
		}
	}
	if len(cur) > 0 {
		lines = append(lines, cur)
	}
	return lines
}

// Pages returns the number of pages so far.
func (d *Document) Pages() int { return len(d.pages) }

// Bytes renders the PDF.
func (d *Document) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	stream := func(data []byte) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d >>\nstream\n", len(offsets), len(data))
		b.Write(data)
		b.WriteString("\nendstream\nendobj\n")
	}
	n := len(d.pages)
	// 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then page i: 6+2i page, 7+2i content
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, n)
	for i := range kids {
		kids[i] = strconv.Itoa(6+2*i) + " 0 R"
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	obj("<< /Title " + pdfString(Encode(d.title)) + " /Producer (luxncp) >>")
	for i, ops := range d.pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>",
			num(PageWidth), num(PageHeight), 7+2*i))
		stream(content(ops, d.footer, i+1, n))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

func content(ops []op, footer string, page, pages int) []byte {
	var c bytes.Buffer
	c.WriteString("0.5 w\n")
	for _, o := range ops {
		if o.text == nil {
			fmt.Fprintf(&c, "%s %s m %s %s l S\n", num(o.x), num(o.y), num(o.x2), num(o.y2))
			continue
		}
		font := "F1"
		if o.bold {
			font = "F2"
		}
		fmt.Fprintf(&c, "BT /%s %s Tf %s %s Td %s Tj ET\n", font, num(o.size), num(o.x), num(o.y), pdfString(o.text))
	}
	foot := fmt.Sprintf("%d/%d", page, pages)
	if footer != "" {
		foot = footer + " - " + foot
	}
	enc := Encode(foot)
	fmt.Fprintf(&c, "BT /F1 8 Tf %s %s Td %s Tj ET\n", num(PageWidth-Margin-width(enc, 8, false)), num(Margin-20), pdfString(enc))
	return c.Bytes()
}

// num formats a coordinate with at most two decimals.
func num(f float64) string { return strconv.FormatFloat(float64(int64(f*100+0.5))/100, 'f', -1, 64) }

// pdfString writes a literal string, escaping \, ( and ).
func pdfString(enc []byte) string {
	var s strings.Builder
	s.WriteByte('(')
	for _, c := range enc {
		switch c {
		case '\\', '(', ')':
			s.WriteByte('\\')
			s.WriteByte(c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte(')')
	return s.String()
}
