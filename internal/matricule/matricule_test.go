package matricule

import (
	"encoding/csv"
	"errors"
	"os"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// knownBadVectors are rows of the shared test vectors that contradict the
// rule of the règlement grand-ducal of 28 November 2013 (both check digits
// over the first 11 digits). The real-world rows (lux-utils, the national CDA
// sample) agree with the rule; these synthetic rows were produced with a wrong
// Verhoeff computation (over 12 digits for two of them), so luxncp must reject
// them. Verified against the textbook Verhoeff vectors (236→3, 12345→1) in
// TestVerhoeffTextbook.
var knownBadVectors = map[string]string{
	"1992070712347": "Verhoeff over 11 digits is 8 (7 is the digit over 12 digits)",
	"1978060001749": "Verhoeff over 11 digits is 6",
	"1945000001219": "Verhoeff over 11 digits is 6 (9 is the digit over 12 digits)",
}

func TestVerhoeffTextbook(t *testing.T) {
	for in, want := range map[string]byte{"236": '3', "12345": '1', "142857": '0'} {
		if got := Verhoeff(in); got != want {
			t.Errorf("Verhoeff(%s) = %c, want %c", in, got, want)
		}
	}
	for in, want := range map[string]byte{"7992739871": '3', "4": '2'} {
		if got := Luhn(in); got != want {
			t.Errorf("Luhn(%s) = %c, want %c", in, got, want)
		}
	}
}

// TestVectors checks the shared reference vectors, including their recorded
// Luhn and Verhoeff digits over the first 11 digits.
func TestVectors(t *testing.T) {
	f, err := os.Open(testutil.Shared(t, "reference", "terminology", "lu-matricule-test-vectors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 {
		t.Fatalf("only %d rows in the test vectors", len(rows))
	}
	for _, r := range rows[1:] {
		m, expected, luhn, verhoeff := r[0], r[1], r[3], r[4]
		t.Run(m, func(t *testing.T) {
			if reason, bad := knownBadVectors[m]; bad {
				if !errors.Is(Validate(m), ErrCheckDigit) || string(Verhoeff(m[:11])) == verhoeff {
					t.Fatalf("known-bad vector (%s) is no longer bad: fix knownBadVectors", reason)
				}
				t.Skipf("vector contradicts RGD 2013: %s", reason)
			}
			if got := string(Luhn(m[:11])); got != luhn {
				t.Errorf("Luhn(%s) = %s, want %s", m[:11], got, luhn)
			}
			if got := string(Verhoeff(m[:11])); got != verhoeff {
				t.Errorf("Verhoeff(%s) = %s, want %s", m[:11], got, verhoeff)
			}
			err := Validate(m)
			switch expected {
			case "valid":
				if err != nil {
					t.Errorf("Validate = %v, want valid", err)
				}
				if g := Generate(m[:8], int(m[8]-'0')*100+int(m[9]-'0')*10+int(m[10]-'0')); g != m {
					t.Errorf("Generate = %s, want %s", g, m)
				}
			case "invalid":
				if !errors.Is(err, ErrCheckDigit) {
					t.Errorf("Validate = %v, want ErrCheckDigit", err)
				}
			default:
				t.Fatalf("unknown expectation %q", expected)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		kind    Kind
		wantErr error
	}{
		{"1990010112385", "1990010112385", Modern, nil},
		{" 1990 0101 123 85 ", "1990010112385", Modern, nil},
		{"1990.01.01.123-85", "1990010112385", Modern, nil},
		{"1945000001216", "1945000001216", Modern, nil},
		{Generate("30120101", 5), Generate("30120101", 5), Modern, nil}, // first digits not a year
		{"1990010112358", "", 0, ErrCheckDigit},                         // Luhn wrong
		{"1990010112384", "", 0, ErrCheckDigit},                         // Verhoeff wrong
		{"19900101124", "", 0, ErrCheckDigit},                           // 11 digits, wrong mod-11 digit
		{GenerateLegacy("19620314", 11), GenerateLegacy("19620314", 11), Legacy, nil},
		{"", "", 0, ErrMalformed},
		{"123", "", 0, ErrMalformed},
		{"199001011238", "", 0, ErrMalformed},   // 12 digits
		{"19900101123856", "", 0, ErrMalformed}, // 14 digits
		{"199001011238X", "", 0, ErrMalformed},
		{"１990010112385", "", 0, ErrMalformed}, // full-width digit
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := Parse(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				var me *Error
				if !errors.As(err, &me) || me.Reason == "" {
					t.Fatalf("error %v is not a *Error with a reason", err)
				}
				other := ErrMalformed
				if tt.wantErr == ErrMalformed {
					other = ErrCheckDigit
				}
				if errors.Is(err, other) {
					t.Fatalf("error %v matches both sentinels", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if id.Digits != tt.want || id.Kind != tt.kind {
				t.Fatalf("Parse(%q) = %+v, want %s kind %d", tt.in, id, tt.want, tt.kind)
			}
		})
	}
}

func TestLegacy(t *testing.T) {
	// Hand-computed: 1962031411 → 5*1+4*9+3*6+2*2+7*0+6*3+5*1+4*4+3*1+2*1 = 107; 107 mod 11 = 8; 11-8 = 3.
	if c, ok := Mod11("1962031411"); !ok || c != '3' {
		t.Fatalf("Mod11(1962031411) = %c %v, want 3", c, ok)
	}
	if err := Validate("19620314113"); err != nil {
		t.Fatalf("Validate legacy: %v", err)
	}
	for _, bad := range []string{"19620314112", "19620314114"} {
		if err := Validate(bad); !errors.Is(err, ErrCheckDigit) {
			t.Errorf("Validate(%s) = %v, want ErrCheckDigit", bad, err)
		}
	}
	// Every generated legacy number validates, and every single-digit
	// alteration of the check digit is caught.
	for o := 0; o < 90; o += 7 {
		m := GenerateLegacy("19800229", o)
		if err := Validate(m); err != nil {
			t.Fatalf("GenerateLegacy(%d) = %s: %v", o, m, err)
		}
		for d := byte('0'); d <= '9'; d++ {
			if d == m[10] {
				continue
			}
			if Validate(m[:10]+string(d)) == nil {
				t.Fatalf("%s accepted with check digit %c", m, d)
			}
		}
	}
}

func TestGenerateDetectsSingleErrors(t *testing.T) {
	m := Generate("1985-03-12", 1)
	if m != "1985031200182" {
		t.Fatalf("Generate = %s", m)
	}
	for i := 0; i < 13; i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == m[i] {
				continue
			}
			alt := m[:i] + string(d) + m[i+1:]
			if err := Validate(alt); !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("altered %s (position %d) → %v, want ErrCheckDigit", alt, i, err)
			}
		}
	}
	// Adjacent transpositions are caught too (Verhoeff).
	for i := 0; i < 12; i++ {
		if m[i] == m[i+1] {
			continue
		}
		alt := m[:i] + string(m[i+1]) + string(m[i]) + m[i+2:]
		if Validate(alt) == nil {
			t.Fatalf("transposition %s accepted", alt)
		}
	}
}

func TestBirthDate(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"1990010112385", "1990-01-01", true},
		{"1978060001749", "1978-06", true},
		{"1945000001216", "1945", true},
		{"3012010100512", "", false},
		{"1990130112385", "", false},
	}
	for _, tt := range tests {
		got, ok := BirthDateOf(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BirthDateOf(%s) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1990010112385", "19620314113", "1990 0101 123 85", "", "x", "1990010112384", "１990010112385"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(id.Digits) != int(id.Kind) || !allDigits(id.Digits) {
			t.Fatalf("Parse(%q) = %+v", s, id)
		}
		if again, err := Parse(id.Digits); err != nil || again != id {
			t.Fatalf("not idempotent: %+v %v", again, err)
		}
		if id.Kind == Modern && Generate(id.Digits[:8], int(id.Digits[8]-'0')*100+int(id.Digits[9]-'0')*10+int(id.Digits[10]-'0')) != id.Digits {
			t.Fatalf("Generate disagrees with Parse for %s", id.Digits)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("1990010112385"); err != nil {
			b.Fatal(err)
		}
	}
}
