package pdf

import (
	"strings"
	"unicode/utf8"
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
	lang   string
	pages  [][]op
	y      float64
	fonts  [2]*font // regular, bold
}

type op struct {
	x, y float64
	size float64
	bold bool
	text *string // nil for a line
	// line from (x,y) to (x2,y2)
	x2, y2 float64
}

// New starts a document. title goes into the document information
// dictionary; footer (optional) is printed on each page with "page n/N".
func New(title, footer string) *Document {
	d := &Document{title: title, footer: footer}
	var err error
	for i, f := range [2][2]string{{"DejaVuSans.ttf", "DejaVuSans"}, {"DejaVuSans-Bold.ttf", "DejaVuSans-Bold"}} {
		if d.fonts[i], err = loadFont(f[0], f[1]); err != nil {
			// The fonts are compiled in and checked by the tests: a
			// failure here is a broken build, not an input error.
			panic(err)
		}
	}
	d.newPage()
	return d
}

// SetLanguage records the document's natural language (BCP 47, e.g.
// "fr-LU") in the catalogue, for screen readers and text extraction.
func (d *Document) SetLanguage(lang string) { d.lang = lang }

func (d *Document) font(bold bool) *font {
	if bold {
		return d.fonts[1]
	}
	return d.fonts[0]
}

// width returns the width of s in points at size.
func (d *Document) width(s string, size float64, bold bool) float64 {
	return d.font(bold).width(s, size)
}

func str(s string) *string { return &s }

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
		if w := d.width(clean(p[0]), BodySize, true); w > labelW {
			labelW = w
		}
	}
	labelW = min(labelW+10, (PageWidth-2*Margin)/2)
	for _, p := range pairs {
		lines := d.wrap(p[1], PageWidth-2*Margin-labelW, BodySize, false)
		labels := d.wrap(p[0], labelW-6, BodySize, true)
		n := max(len(lines), len(labels))
		d.need(float64(n) * BodySize * 1.3)
		y := d.y
		for i, l := range labels {
			d.add(op{x: Margin, y: y - BodySize - float64(i)*BodySize*1.3, size: BodySize, bold: true, text: str(l)})
		}
		for i, l := range lines {
			d.add(op{x: Margin + labelW, y: y - BodySize - float64(i)*BodySize*1.3, size: BodySize, text: str(l)})
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
	// No header word is cut: a column narrower than its longest header
	// word is fixed at that width and the others share the rest by weight.
	full := PageWidth - 2*Margin
	need := make([]float64, cols)
	for i, h := range headers {
		for _, w := range strings.Fields(h) {
			need[i] = max(need[i], min(d.width(w, size, true)+2*pad+1, full/3))
		}
	}
	fixed := make([]bool, cols)
	for changed := true; changed; {
		changed = false
		rest, weights := full, 0.0
		for i := range colW {
			if fixed[i] {
				rest -= need[i]
			} else {
				weights += colW[i]
			}
		}
		if weights == 0 {
			copy(colW, need)
			break
		}
		scaled := make([]float64, cols)
		for i := range colW {
			if !fixed[i] {
				scaled[i] = colW[i] / weights * rest
				if scaled[i] < need[i] {
					fixed[i], changed = true, true
				}
			}
		}
		if !changed {
			for i := range colW {
				if fixed[i] {
					colW[i] = need[i]
				} else {
					colW[i] = scaled[i]
				}
			}
		}
	}
	row := func(cells []string, bold bool) {
		wrapped := make([][]string, cols)
		n := 1
		for i := 0; i < cols; i++ {
			s := ""
			if i < len(cells) {
				s = cells[i]
			}
			wrapped[i] = d.wrap(s, colW[i]-2*pad, size, bold)
			n = max(n, len(wrapped[i]))
		}
		h := float64(n)*size*1.25 + 2*pad
		d.need(h)
		top := d.y
		x := Margin
		for i := 0; i < cols; i++ {
			for j, l := range wrapped[i] {
				d.add(op{x: x + pad, y: top - pad - size - float64(j)*size*1.25 + 1, size: size, bold: bold, text: str(l)})
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
	for _, l := range d.wrap(text, w, size, bold) {
		d.need(size * 1.3)
		d.y -= size * 1.3
		d.add(op{x: x, y: d.y + size*0.3, size: size, bold: bold, text: str(l)})
	}
}

// clean turns control characters (tabs, newlines…) into spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F || r == 0xA0 || (r >= 0x80 && r < 0xA0) {
			return ' '
		}
		return r
	}, s)
}

// wrap splits text into lines no wider than w, breaking at spaces, after
// hyphens and slashes, and inside words longer than a line.
func (d *Document) wrap(text string, w float64, size float64, bold bool) []string {
	words := strings.Fields(clean(text))
	if len(words) == 0 {
		return []string{""}
	}
	fits := func(s string) bool { return d.width(s, size, bold) <= w }
	var lines []string
	cur := ""
	for _, word := range words {
		for !fits(word) && utf8.RuneCountInString(word) > 1 {
			// A word wider than the line: break after a hyphen or
			// slash if one fits, else at the last character that fits.
			rs := []rune(word)
			k := len(rs) - 1
			for k > 1 && !fits(string(rs[:k])) {
				k--
			}
			for j := k; j > k/2; j-- {
				if rs[j-1] == '-' || rs[j-1] == '/' {
					k = j
					break
				}
			}
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			lines = append(lines, string(rs[:k]))
			word = string(rs[k:])
		}
		if cur != "" && !fits(cur+" "+word) {
			lines = append(lines, cur)
			cur = word
		} else if cur != "" {
			cur += " " + word
		} else {
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// Pages returns the number of pages so far.
func (d *Document) Pages() int { return len(d.pages) }
