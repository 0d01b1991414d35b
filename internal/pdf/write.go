package pdf

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Bytes renders the document as PDF/A-2b (ISO 19005-2, level B): every
// font embedded (a subset of DejaVu Sans as a CIDFontType2 with Identity-H
// encoding and a ToUnicode map, so any Latin, Greek or Cyrillic text
// prints and extracts as written), XMP metadata with the PDF/A
// identification, an sRGB output intent with its ICC profile, a file
// identifier, no encryption, no transparency, no external content.
func (d *Document) Bytes() []byte {
	w := &writer{}
	n := len(d.pages)
	// Object numbers: fixed ones, then two per page.
	const (
		catalog = iota + 1
		pages
		info
		metadata
		intent
		icc
		font0 // 4 objects per font: Type0, CIDFont, descriptor, FontFile2, ToUnicode (5)
	)
	fontObj := func(i, k int) int { return font0 + 5*i + k }
	firstPage := font0 + 10
	used := [2]map[int]rune{{}, {}}
	var kids []string
	for i, ops := range d.pages {
		page, cont := firstPage+2*i, firstPage+2*i+1
		kids = append(kids, ref(page))
		w.set(page, fmt.Sprintf("<< /Type /Page /Parent %s /MediaBox [0 0 %s %s] /Resources << /Font << /F1 %s /F2 %s >> >> /Contents %s >>",
			ref(pages), num(PageWidth), num(PageHeight), ref(fontObj(0, 0)), ref(fontObj(1, 0)), ref(cont)))
		w.setStream(cont, "", d.content(ops, i+1, n, &used), true)
	}
	cat := fmt.Sprintf("<< /Type /Catalog /Pages %s /Metadata %s /OutputIntents [%s]", ref(pages), ref(metadata), ref(intent))
	if d.lang != "" {
		cat += " /Lang " + textString(d.lang)
	}
	w.set(catalog, cat+" >>")
	w.set(pages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	w.set(info, "<< /Title "+textString(clean(d.title))+" /Producer (luxncp) >>")
	w.setStream(metadata, "/Type /Metadata /Subtype /XML", xmp(clean(d.title)), false)
	w.set(intent, fmt.Sprintf("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) /DestOutputProfile %s >>", ref(icc)))
	w.setStream(icc, "/N 3", srgbProfile(), true)
	for i, f := range d.fonts {
		d.writeFont(w, f, used[i], fontObj(i, 0))
	}
	return w.bytes(catalog, info)
}

func ref(n int) string { return strconv.Itoa(n) + " 0 R" }

// writeFont writes the Type 0 font at obj and its CIDFont, descriptor,
// font program and ToUnicode map at obj+1…obj+4.
func (d *Document) writeFont(w *writer, f *font, used map[int]rune, obj int) {
	gids := make([]int, 0, len(used))
	for g := range used {
		gids = append(gids, g)
	}
	sort.Ints(gids)
	// Subset tag: six capitals derived from the glyphs used (ISO 32000-1 9.6.4).
	h := md5.Sum([]byte(fmt.Sprint(f.name, gids)))
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + h[i]%26
	}
	name := string(tag) + "+" + f.name
	w.set(obj, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%s] /ToUnicode %s >>", name, ref(obj+1), ref(obj+4)))
	var wd strings.Builder
	for _, g := range gids {
		fmt.Fprintf(&wd, "%d [%d] ", g, f.pdfWidth(g))
	}
	w.set(obj+1, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %s /DW %d /W [%s] /CIDToGIDMap /Identity >>",
		name, ref(obj+2), f.pdfWidth(0), strings.TrimSpace(wd.String())))
	s := func(v int) int { return v * 1000 / f.unitsPerEm }
	flags := 32 // nonsymbolic
	stemV := 80
	if strings.Contains(f.name, "Bold") {
		flags |= 1 << 18
		stemV = 140
	}
	w.set(obj+2, fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags %d /FontBBox [%d %d %d %d] /ItalicAngle %s /Ascent %d /Descent %d /CapHeight %d /StemV %d /FontFile2 %s >>",
		name, flags, s(f.bbox[0]), s(f.bbox[1]), s(f.bbox[2]), s(f.bbox[3]), num(f.italicAngle), s(f.ascent), s(f.descent), s(f.capHeight), stemV, ref(obj+3)))
	prog := f.subset(toSet(gids))
	w.setStream(obj+3, "/Length1 "+strconv.Itoa(len(prog)), prog, true)
	w.setStream(obj+4, "", toUnicode(gids, used), true)
}

func toSet(gids []int) map[int]bool {
	m := make(map[int]bool, len(gids))
	for _, g := range gids {
		m[g] = true
	}
	return m
}

// toUnicode writes the CMap that maps glyph ids back to the characters
// (ISO 32000-1 9.10.3), so copied and extracted text is the text written.
func toUnicode(gids []int, used map[int]rune) []byte {
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		chunk := gids[i:min(i+100, len(gids))]
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X> <%s>\n", g, utf16Hex(string(used[g])))
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return []byte(b.String())
}

func utf16Hex(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}

// textString writes a PDF text string: UTF-16BE with a byte order mark
// (ISO 32000-1 7.9.2.2), so any title reads right in viewers.
func textString(s string) string { return "<FEFF" + utf16Hex(s) + ">" }

// xmp is the document's XMP metadata packet (ISO 16684-1) with the PDF/A
// identification; dc:title and pdf:Producer repeat the Info dictionary.
func xmp(title string) []byte {
	t := html.EscapeString(title)
	return []byte(`<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">` + t + `</rdf:li></rdf:Alt></dc:title>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdf:Producer>luxncp</pdf:Producer>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// content writes a page's content stream, recording the glyphs used.
func (d *Document) content(ops []op, page, pages int, used *[2]map[int]rune) []byte {
	var c bytes.Buffer
	c.WriteString("0.5 w\n")
	show := func(s string, bold bool) string {
		fi := 0
		if bold {
			fi = 1
		}
		f := d.fonts[fi]
		var h strings.Builder
		h.WriteByte('<')
		for _, r := range s {
			g := f.glyph(r)
			if _, seen := used[fi][g]; !seen || g == f.fallback {
				if g != f.fallback {
					used[fi][g] = r
				} else {
					used[fi][g] = 0xFFFD
				}
			}
			fmt.Fprintf(&h, "%04X", g)
		}
		h.WriteByte('>')
		return h.String()
	}
	for _, o := range ops {
		if o.text == nil {
			fmt.Fprintf(&c, "%s %s m %s %s l S\n", num(o.x), num(o.y), num(o.x2), num(o.y2))
			continue
		}
		font := "F1"
		if o.bold {
			font = "F2"
		}
		fmt.Fprintf(&c, "BT /%s %s Tf %s %s Td %s Tj ET\n", font, num(o.size), num(o.x), num(o.y), show(*o.text, o.bold))
	}
	foot := fmt.Sprintf("%d/%d", page, pages)
	if d.footer != "" {
		foot = clean(d.footer) + " - " + foot
	}
	fmt.Fprintf(&c, "BT /F1 8 Tf %s %s Td %s Tj ET\n", num(PageWidth-Margin-d.width(foot, 8, false)), num(Margin-20), show(foot, false))
	return c.Bytes()
}

// writer collects numbered objects and writes the file: header, objects
// in order, cross-reference table, trailer with the file identifier.
type writer struct {
	objs [][]byte
}

func (w *writer) set(n int, body string) { w.put(n, []byte(body)) }

func (w *writer) put(n int, obj []byte) {
	for len(w.objs) < n {
		w.objs = append(w.objs, nil)
	}
	w.objs[n-1] = obj
}

// setStream stores a stream object; deflate compresses it (FlateDecode,
// allowed by PDF/A; XMP metadata stays plain for tools that scan for it).
func (w *writer) setStream(n int, dict string, data []byte, deflate bool) {
	if deflate {
		var z bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
		dict = strings.TrimSpace(dict + " /Filter /FlateDecode")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\n", strings.TrimSpace(dict), len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	w.put(n, b.Bytes())
}

func (w *writer) bytes(root, info int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	offsets := make([]int, len(w.objs))
	for i, o := range w.objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		b.Write(o)
		b.WriteString("\nendobj\n")
	}
	sum := md5.Sum(b.Bytes())
	id := hex.EncodeToString(sum[:])
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %s /Info %s /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, ref(root), ref(info), id, id, xref)
	return b.Bytes()
}

// num formats a number with at most two decimals.
func num(f float64) string {
	return strconv.FormatFloat(float64(int64(f*100+sign(f)*0.5))/100, 'f', -1, 64)
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}
