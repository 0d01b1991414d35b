// Package peertext makes text a foreign contact point chose (SOAP fault
// reasons, ebRS RegistryError codeContext, XCPD acknowledgement text,
// document titles and descriptions) safe to pass on as data: bounded in
// length, free of control characters and of the Unicode bidirectional
// formatting characters (Unicode Standard Annex #9, section 2: embeddings,
// overrides, isolates and marks) that can make a message read differently
// from what it says, and valid UTF-8. Escaping for the output format (JSON,
// HTML, XML) stays the writer's job; Clean only guarantees that what is
// escaped is short plain text.
//
// Text cut to fit ends with a marker giving the original length and the
// first bytes of its SHA-256, so that an audit record shows that something
// was cut and lets an investigator match it against the partner's logs.
package peertext

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// Max is the default bound of a cleaned text, in bytes, marker included.
const Max = 1024

// Clean is CleanN(s, Max).
func Clean(s string) string { return CleanN(s, Max) }

// CleanN returns s with control, format-control and bidirectional
// characters removed (line breaks and tabs become spaces, runs of spaces
// one space), invalid UTF-8 replaced by U+FFFD, trimmed, and cut to at
// most maxBytes bytes (at least 128) with a marker when it was longer.
func CleanN(s string, maxBytes int) string {
	limit := max(maxBytes, 128)
	var b strings.Builder
	space := false
	for i, r := range s {
		if b.Len() > limit {
			// Enough to know it will be cut; stop copying.
			return cut(b.String(), s, limit)
		}
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			r = unicode.ReplacementChar
		case unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			if b.Len() > 0 {
				space = true
			}
			continue
		case dropped(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if b.Len() > limit {
		return cut(b.String(), s, limit)
	}
	return b.String()
}

// Strip returns s without the characters Clean drops, but with its
// spacing (tabs, line breaks, runs of spaces) kept and nothing cut: for
// text whose layout is its own, such as a CDA narrative, already bounded
// by the document limits. Invalid UTF-8 becomes U+FFFD.
func Strip(s string) string {
	clean := true
	for i, r := range s {
		if r == utf8.RuneError && isInvalidAt(s, i) || dropped(r) && !layout(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			b.WriteRune(unicode.ReplacementChar)
		case dropped(r) && !layout(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// layout reports the control characters Strip keeps: tab and line breaks.
func layout(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }

func isInvalidAt(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n <= 1
}

// dropped reports the characters Clean removes: C0 and C1 controls, DEL,
// and Unicode format characters (category Cf: the bidi embeddings,
// overrides, isolates and marks, zero-width characters, the BOM).
func dropped(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// cut shortens cleaned text to fit limit bytes with the marker, on a rune
// boundary, and names the original's length and hash.
func cut(cleaned, original string, limit int) string {
	sum := sha256.Sum256([]byte(original))
	marker := " … [truncated from " + strconv.Itoa(len(original)) + " bytes, sha256:" + hex.EncodeToString(sum[:8]) + "]"
	n := limit - len(marker)
	for n > 0 && !utf8.RuneStart(cleaned[n]) {
		n--
	}
	return strings.TrimSpace(cleaned[:n]) + marker
}

// Code returns a peer-supplied code (an eHDSI error code, an HL7 code) as
// an identifier: at most 64 bytes of ASCII letters, digits and _ - . :
// and nothing else; anything else yields "".
func Code(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return ""
		}
	}
	return s
}

// ErrorCode maps an error code a peer sent onto luxncp's list of eHDSI
// codes: a known code is returned as is with detail ""; anything else
// becomes fallback, with the original (cleaned, at most 64 bytes) in
// detail for the message and the audit.
func ErrorCode(raw string, fallback ehdsi.Code) (code ehdsi.Code, detail string) {
	if c := ehdsi.Code(strings.TrimSpace(raw)); ehdsi.Known(c) {
		return c, ""
	}
	if strings.TrimSpace(raw) == "" {
		return fallback, ""
	}
	c := CleanN(raw, 128)
	for len(c) > 64 {
		_, n := utf8.DecodeLastRuneInString(c)
		c = c[:len(c)-n]
	}
	return fallback, "unknown error code " + strconv.Quote(c)
}
