package peertext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "No patient found.", "No patient found."},
		{"newlines become one space", "line one\r\n\n\tline two", "line one line two"},
		{"right-to-left override", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"isolates and marks", "a\u2066b\u2069c\u200Fd\u061Ce", "abcde"},
		{"controls", "a\x00b\x07c\x1b[31md\x7f\u0085", "abc[31md"},
		{"zero width and BOM", "a\u200Bb\uFEFFc", "abc"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"trimmed", "  x  ", "x"},
	} {
		if got := Clean(tc.in); got != tc.want {
			t.Errorf("%s: Clean(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestCleanTruncates(t *testing.T) {
	huge := strings.Repeat("é", 20<<20) // 40 MiB
	got := Clean(huge)
	if len(got) > Max {
		t.Fatalf("len %d > %d", len(got), Max)
	}
	if !utf8.ValidString(got) {
		t.Fatal("cut inside a rune")
	}
	if !strings.Contains(got, "[truncated from 41943040 bytes, sha256:") {
		t.Fatalf("no marker: %q", got[len(got)-100:])
	}
	if Clean(huge) != got {
		t.Fatal("not deterministic")
	}
	exact := strings.Repeat("a", Max)
	if Clean(exact) != exact {
		t.Fatal("text of exactly Max bytes was cut")
	}
}

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"ERROR_PI_NO_MATCH":          "ERROR_PI_NO_MATCH",
		" 4701 ":                     "4701",
		"ERROR CONSENT<script>":      "",
		strings.Repeat("A", 65):      "",
		"urn:oasis:names:tc:x.y-z_1": "urn:oasis:names:tc:x.y-z_1",
	} {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if c, d := ErrorCode("ERROR_PI_NO_MATCH", "ERROR_GENERIC"); c != "ERROR_PI_NO_MATCH" || d != "" {
		t.Errorf("known: %q %q", c, d)
	}
	c, d := ErrorCode("NOT_A_CONSENT_CODE\u202E"+strings.Repeat("X", 500), "ERROR_GENERIC")
	if c != "ERROR_GENERIC" || !strings.HasPrefix(d, `unknown error code "NOT_A_CONSENT_CODEXXX`) || len(d) > 100 || strings.ContainsRune(d, '\u202E') {
		t.Errorf("unknown: %q %q", c, d)
	}
}

func TestStrip(t *testing.T) {
	for in, want := range map[string]string{
		"Dose \u202Egm 01 1 comprimé":                 "Dose gm 01 1 comprimé",
		"a\u2066b\u2069c\u200Bd\uFEFFe\u061Cf\u2060g": "abcdefg",
		"  line\n\tnext\r\n  ":                        "  line\n\tnext\r\n  ",
		"a\x00b\u0085c\u009Bd\x7f":                    "abcd",
		"a\xffb":                                      "a\uFFFDb",
		"plain":                                       "plain",
	} {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}
