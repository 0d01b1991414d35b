package pdf

// winAnsi maps the non-Latin-1 characters of Windows-1252 to their bytes.
var winAnsi = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// Encode converts s to WinAnsiEncoding bytes. Characters it cannot encode
// become '?', control characters a space.
func Encode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			out = append(out, ' ')
		case r < 0x20:
			out = append(out, ' ')
		case r < 0x7F:
			out = append(out, byte(r))
		case r == 0xA0:
			out = append(out, ' ')
		case r >= 0xA1 && r <= 0xFF:
			out = append(out, byte(r))
		default:
			if b, ok := winAnsi[r]; ok {
				out = append(out, b)
			} else {
				out = append(out, '?')
			}
		}
	}
	return out
}

// helvetica holds the Helvetica advance widths (1/1000 em) for bytes 32–126.
var helvetica = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space … /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0–9
	278, 278, 584, 584, 584, 556, 1015, // : … @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A–M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N–Z
	278, 278, 278, 469, 556, 333, // [ … `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a–m
	556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n–z
	334, 260, 334, 584, // { … ~
}

// latin1Base gives, for accented Latin-1 letters, a letter of the same width.
var latin1Base = map[byte]byte{}

func init() {
	for b, base := range map[string]byte{
		"ÀÁÂÃÄÅ": 'A', "Ç": 'C', "ÈÉÊË": 'E', "ÌÍÎÏ": 'I', "Ñ": 'N', "ÒÓÔÕÖØ": 'O', "ÙÚÛÜ": 'U', "Ý": 'Y',
		"àáâãäå": 'a', "ç": 'c', "èéêë": 'e', "ìíîï": 'i', "ñ": 'n', "òóôõöø": 'o', "ùúûü": 'u', "ýÿ": 'y', "ß": 'o',
	} {
		for _, c := range Encode(b) {
			latin1Base[c] = base
		}
	}
}

// width returns the width of encoded text in points at size; bold text is
// estimated 6% wider.
func width(enc []byte, size float64, bold bool) float64 {
	w := 0
	for _, c := range enc {
		if base, ok := latin1Base[c]; ok {
			c = base
		}
		if c >= 32 && c <= 126 {
			w += helvetica[c-32]
		} else {
			w += 556
		}
	}
	f := float64(w) * size / 1000
	if bold {
		f *= 1.06
	}
	return f
}
