package pdf

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// The embedded fonts (fonts/README.md says where they come from).
//
//go:embed fonts/DejaVuSans.ttf fonts/DejaVuSans-Bold.ttf
var fontFiles embed.FS

// font is a TrueType font (OpenType with glyf outlines) read far enough to
// lay text out and embed a subset of it (ISO 32000-1 9.7.4, CIDFontType2).
type font struct {
	name            string // PostScript name
	tables          map[string][]byte
	unitsPerEm      int
	ascent, descent int
	capHeight       int
	bbox            [4]int
	italicAngle     float64
	advance         []int        // per glyph, font units
	cmap            map[rune]int // rune → glyph id
	longLoca        bool
	loca            []int // glyph offsets into glyf (numGlyphs+1)
	numGlyphs       int
	fallback        int // glyph for characters the font lacks (U+FFFD, else .notdef)
}

func loadFont(file, name string) (*font, error) {
	b, err := fontFiles.ReadFile("fonts/" + file)
	if err != nil {
		return nil, err
	}
	f, err := parseFont(b)
	if err != nil {
		return nil, fmt.Errorf("pdf: font %s: %w", file, err)
	}
	f.name = name
	return f, nil
}

var errFont = errors.New("not a TrueType font luxncp can embed")

func parseFont(b []byte) (*font, error) {
	if len(b) < 12 {
		return nil, errFont
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	f := &font{tables: map[string][]byte{}}
	for i := 0; i < n; i++ {
		r := 12 + 16*i
		if r+16 > len(b) {
			return nil, errFont
		}
		tag := string(b[r : r+4])
		off, ln := int(binary.BigEndian.Uint32(b[r+8:])), int(binary.BigEndian.Uint32(b[r+12:]))
		if off < 0 || ln < 0 || off+ln > len(b) {
			return nil, errFont
		}
		f.tables[tag] = b[off : off+ln]
	}
	for _, t := range []string{"head", "hhea", "hmtx", "maxp", "loca", "glyf", "cmap", "OS/2", "post"} {
		if f.tables[t] == nil {
			return nil, fmt.Errorf("%w: no %s table", errFont, t)
		}
	}
	u16 := func(t string, o int) int { return int(binary.BigEndian.Uint16(f.tables[t][o:])) }
	i16 := func(t string, o int) int { return int(int16(binary.BigEndian.Uint16(f.tables[t][o:]))) }
	f.unitsPerEm = u16("head", 18)
	f.bbox = [4]int{i16("head", 36), i16("head", 38), i16("head", 40), i16("head", 42)}
	f.longLoca = u16("head", 50) == 1
	f.numGlyphs = u16("maxp", 4)
	f.ascent, f.descent = i16("hhea", 4), i16("hhea", 6)
	if len(f.tables["OS/2"]) >= 90 {
		f.capHeight = i16("OS/2", 88)
	} else {
		f.capHeight = f.ascent
	}
	f.italicAngle = float64(int32(binary.BigEndian.Uint32(f.tables["post"][4:]))) / 65536
	nh := u16("hhea", 34)
	f.advance = make([]int, f.numGlyphs)
	for g := 0; g < f.numGlyphs; g++ {
		k := min(g, nh-1)
		f.advance[g] = u16("hmtx", 4*k)
	}
	f.loca = make([]int, f.numGlyphs+1)
	for g := range f.loca {
		if f.longLoca {
			f.loca[g] = int(binary.BigEndian.Uint32(f.tables["loca"][4*g:]))
		} else {
			f.loca[g] = 2 * u16("loca", 2*g)
		}
	}
	if err := f.readCmap(); err != nil {
		return nil, err
	}
	f.fallback = f.cmap[0xFFFD]
	return f, nil
}

// readCmap reads the Unicode BMP subtable (format 4).
func (f *font) readCmap() error {
	c := f.tables["cmap"]
	u16 := func(o int) int { return int(binary.BigEndian.Uint16(c[o:])) }
	n := u16(2)
	for i := 0; i < n; i++ {
		pid, eid, off := u16(4+8*i), u16(6+8*i), int(binary.BigEndian.Uint32(c[8+8*i:]))
		if !(pid == 3 && eid == 1) && pid != 0 {
			continue
		}
		if off+14 > len(c) || u16(off) != 4 {
			continue
		}
		segX2 := u16(off + 6)
		ends, starts := off+14, off+16+segX2
		deltas, ranges := starts+segX2, starts+2*segX2
		f.cmap = map[rune]int{}
		for s := 0; s < segX2/2; s++ {
			end, start := u16(ends+2*s), u16(starts+2*s)
			delta, ro := u16(deltas+2*s), u16(ranges+2*s)
			for r := start; r <= end && r != 0xFFFF; r++ {
				g := 0
				if ro == 0 {
					g = (r + delta) & 0xFFFF
				} else if a := ranges + 2*s + ro + 2*(r-start); a+2 <= len(c) {
					if g = u16(a); g != 0 {
						g = (g + delta) & 0xFFFF
					}
				}
				if g != 0 && g < f.numGlyphs {
					f.cmap[rune(r)] = g
				}
			}
		}
		return nil
	}
	return fmt.Errorf("%w: no Unicode cmap", errFont)
}

// glyph returns the glyph for r: the font's, else U+FFFD's.
func (f *font) glyph(r rune) int {
	if g, ok := f.cmap[r]; ok {
		return g
	}
	return f.fallback
}

// width returns the advance of s at size, in points.
func (f *font) width(s string, size float64) float64 {
	w := 0
	for _, r := range s {
		w += f.advance[f.glyph(r)]
	}
	return float64(w) * size / float64(f.unitsPerEm)
}

// pdfWidth is a glyph's advance in PDF text space (1/1000 em).
func (f *font) pdfWidth(g int) int { return (f.advance[g]*1000 + f.unitsPerEm/2) / f.unitsPerEm }

// subset returns a TrueType font program with the outlines of the used
// glyphs only (and of the glyphs their composites use, and .notdef); the
// glyph ids stay the same, so the PDF maps CIDs to glyphs as Identity.
func (f *font) subset(used map[int]bool) []byte {
	keep := map[int]bool{}
	var add func(g int)
	add = func(g int) {
		if g < 0 || g >= f.numGlyphs || keep[g] {
			return
		}
		keep[g] = true
		data := f.tables["glyf"][f.loca[g]:f.loca[g+1]]
		if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
			return
		}
		// Composite glyph: walk its components.
	components:
		for o := 10; o+4 <= len(data); {
			flags := binary.BigEndian.Uint16(data[o:])
			add(int(binary.BigEndian.Uint16(data[o+2:])))
			o += 4
			if flags&0x0001 != 0 {
				o += 4
			} else {
				o += 2
			}
			switch {
			case flags&0x0008 != 0:
				o += 2
			case flags&0x0040 != 0:
				o += 4
			case flags&0x0080 != 0:
				o += 8
			}
			if flags&0x0020 == 0 { // no MORE_COMPONENTS
				break components
			}
		}
	}
	add(0)
	for g := range used {
		add(g)
	}
	var glyf bytes.Buffer
	loca := make([]byte, 4*(f.numGlyphs+1))
	for g := 0; g < f.numGlyphs; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(glyf.Len()))
		if keep[g] {
			glyf.Write(f.tables["glyf"][f.loca[g]:f.loca[g+1]])
			for glyf.Len()%4 != 0 {
				glyf.WriteByte(0)
			}
		}
	}
	binary.BigEndian.PutUint32(loca[4*f.numGlyphs:], uint32(glyf.Len()))
	head := append([]byte(nil), f.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // long loca
	tables := map[string][]byte{"head": head, "hhea": f.tables["hhea"], "hmtx": f.tables["hmtx"], "maxp": f.tables["maxp"],
		"loca": loca, "glyf": glyf.Bytes(), "cmap": f.tables["cmap"], "post": f.tables["post"], "OS/2": f.tables["OS/2"]}
	for _, t := range []string{"cvt ", "fpgm", "prep", "name"} {
		if f.tables[t] != nil {
			tables[t] = f.tables[t]
		}
	}
	return sfnt(tables)
}

// sfnt writes a TrueType file of the tables (sorted tags, 4-byte aligned,
// checksums and head.checkSumAdjustment as the OpenType spec requires).
func sfnt(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es, sr := 0, 1
	for sr*2 <= n {
		sr *= 2
		es++
	}
	var b bytes.Buffer
	hdr := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(hdr[0:], 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(sr*16))
	binary.BigEndian.PutUint16(hdr[8:], uint16(es))
	binary.BigEndian.PutUint16(hdr[10:], uint16(n*16-sr*16))
	off := len(hdr)
	headAt := 0
	for i, t := range tags {
		d := tables[t]
		r := 12 + 16*i
		copy(hdr[r:], t)
		binary.BigEndian.PutUint32(hdr[r+4:], checksum(d))
		binary.BigEndian.PutUint32(hdr[r+8:], uint32(off))
		binary.BigEndian.PutUint32(hdr[r+12:], uint32(len(d)))
		if t == "head" {
			headAt = off
		}
		off += (len(d) + 3) &^ 3
	}
	b.Write(hdr)
	for _, t := range tags {
		b.Write(tables[t])
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	out := b.Bytes()
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

func checksum(d []byte) uint32 {
	var s uint32
	for i := 0; i < len(d); i += 4 {
		var w [4]byte
		copy(w[:], d[i:])
		s += binary.BigEndian.Uint32(w[:])
	}
	return s
}
