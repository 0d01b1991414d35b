package matricule

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// TestVerhoeffTables checks, independently of the hard-coded tables, that
// they form the Verhoeff scheme: d is the Cayley table of the dihedral group
// D5 built from its definition, inv holds the group inverses, and every p[k]
// is the k-th power of p[1], a permutation of order 8.
func TestVerhoeffTables(t *testing.T) {
	// D5: 0–4 are the rotations r^i, 5–9 the reflections s·r^(i−5), with
	// r^a·r^b = r^(a+b), r^a·s r^b = s r^(b−a), s r^a·r^b = s r^(a+b),
	// s r^a·s r^b = r^(b−a) — written here in Verhoeff's numbering.
	mul := func(a, b int) int {
		switch {
		case a < 5 && b < 5:
			return (a + b) % 5
		case a < 5:
			return 5 + (a+b)%5
		case b < 5:
			return 5 + (a-b+5)%5
		}
		return (a - b + 5) % 5
	}
	for a := range 10 {
		for b := range 10 {
			if got, want := int(verhoeffD[a][b]), mul(a, b); got != want {
				t.Errorf("d[%d][%d] = %d, want %d", a, b, got, want)
			}
		}
	}
	// Group axioms, on the table itself.
	for a := range 10 {
		if verhoeffD[0][a] != byte(a) || verhoeffD[a][0] != byte(a) {
			t.Errorf("0 is not the identity for %d", a)
		}
		for b := range 10 {
			for c := range 10 {
				if verhoeffD[verhoeffD[a][b]][c] != verhoeffD[a][verhoeffD[b][c]] {
					t.Fatalf("d is not associative at %d, %d, %d", a, b, c)
				}
			}
		}
	}
	if verhoeffD[1][5] == verhoeffD[5][1] {
		t.Error("d is commutative: not D5")
	}
	for i := range 10 {
		inv := verhoeffInv[i]
		if verhoeffD[i][inv] != 0 || verhoeffD[inv][i] != 0 {
			t.Errorf("inv[%d] = %d: d[%d][%d] = %d, d[%d][%d] = %d, want 0 and 0",
				i, inv, i, inv, verhoeffD[i][inv], inv, i, verhoeffD[inv][i])
		}
	}
	// p[0] is the identity and p[k] = p[1]^k; p[1]^8 is the identity again.
	var pow [10]byte
	for i := range pow {
		pow[i] = byte(i)
	}
	for k := range 9 {
		if k < 8 && pow != verhoeffP[k] {
			t.Errorf("p[%d] = %v, want p[1]^%d = %v", k, verhoeffP[k], k, pow)
		}
		if k == 8 && pow != verhoeffP[0] {
			t.Errorf("p[1]^8 = %v, want the identity", pow)
		}
		for i := range pow {
			pow[i] = verhoeffP[1][pow[i]]
		}
	}
}

// TestVerhoeffPublished checks published check digits: 236 → 3 and
// 12345 → 1 (the worked examples of the Wikipedia article and Rosetta Code's
// "Verhoeff algorithm" task, which also gives 123456789012 → 0), and
// 1456789 → 4 (Perl Algorithm::CheckDigits::MXX_006 documentation).
func TestVerhoeffPublished(t *testing.T) {
	for in, want := range map[string]byte{"236": '3', "12345": '1', "123456789012": '0', "1456789": '4', "142857": '0'} {
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

// TestVerhoeffCheckDigitsSixToNine pins the case the wrong inverse table
// (…5, 9, 8, 7, 6) got wrong: a correct check digit of 6–9 was expected as
// its mirror 9–6.
func TestVerhoeffCheckDigitsSixToNine(t *testing.T) {
	if err := Validate("1983030506626"); err != nil {
		t.Errorf("Validate(1983030506626) = %v, want valid", err)
	}
	if err := Validate("1983030506629"); !errors.Is(err, ErrCheckDigit) {
		t.Errorf("Validate(1983030506629) = %v, want ErrCheckDigit", err)
	}
	seen := map[byte]bool{}
	for seq := 0; seq < 200 && len(seen) < 10; seq++ {
		m := Generate("19830305", seq)
		seen[m[12]] = true
	}
	for d := byte('0'); d <= '9'; d++ {
		if !seen[d] {
			t.Errorf("no generated matricule has Verhoeff digit %c", d)
		}
	}
}

// TestVectors checks every row of the shared reference vectors: its verdict,
// and its recorded Luhn and Verhoeff digits over the first 11 digits.
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
				if g := Generate(m[:8], seqOf(m)); g != m {
					t.Errorf("Generate = %s, want %s", g, m)
				}
				assertDetects(t, m)
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

// seqOf returns the 3-digit sequence of a 13-digit matricule.
func seqOf(m string) int {
	return int(m[8]-'0')*100 + int(m[9]-'0')*10 + int(m[10]-'0')
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
		{"1945000001219", "1945000001219", Modern, nil},
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

// TestLegacy checks the modulo-11 rule of the legacy form (règlement
// grand-ducal du 21 décembre 1987) on hand-computed numbers.
func TestLegacy(t *testing.T) {
	tests := []struct {
		first10 string
		want    byte // 0: no check digit, the number is never issued
	}{
		// 5·1+4·9+3·6+2·2+7·0+6·3+5·1+4·4+3·1+2·1 = 107 = 9·11+8 → 11−8 = 3
		{"1962031411", '3'},
		// 5·1+4·9+3·8+2·0+7·0+6·2+5·2+4·9+3·1+2·3 = 132 = 12·11 → remainder 0 → 0
		{"1980022913", '0'},
		// 5·1+4·9+3·8+2·0+7·0+6·2+5·2+4·9+3·0+2·5 = 133 = 12·11+1 → remainder 1 → not issued
		{"1980022905", 0},
	}
	for _, tt := range tests {
		c, ok := Mod11(tt.first10)
		if ok != (tt.want != 0) || c != tt.want {
			t.Errorf("Mod11(%s) = %q %v, want %q", tt.first10, c, ok, tt.want)
		}
		for d := byte('0'); d <= '9'; d++ {
			err := Validate(tt.first10 + string(d))
			if d == tt.want {
				if err != nil {
					t.Errorf("Validate(%s%c) = %v", tt.first10, d, err)
				}
			} else if !errors.Is(err, ErrCheckDigit) {
				t.Errorf("Validate(%s%c) = %v, want ErrCheckDigit", tt.first10, d, err)
			}
		}
	}
	// GenerateLegacy keeps an order number that has a check digit, and
	// otherwise skips to the next one of the same parity (same gender).
	for o := range 98 {
		m := GenerateLegacy("19800229", o)
		want := fmt.Sprintf("19800229%02d", o)
		if _, ok := Mod11(want); !ok {
			want = fmt.Sprintf("19800229%02d", o+2)
		}
		if m[:10] != want {
			t.Errorf("GenerateLegacy(19800229, %d) = %s, want %s…", o, m, want)
		}
	}
}

// TestDetectsErrors checks that every single-digit substitution and every
// adjacent transposition of a valid matricule, of either form, is refused
// with ErrCheckDigit.
func TestDetectsErrors(t *testing.T) {
	var valid []string
	for _, birth := range []string{"19850312", "19450000", "19780600", "20151231", "30010510"} {
		for seq := 0; seq <= 999; seq += 7 {
			valid = append(valid, Generate(birth, seq))
		}
	}
	for _, birth := range []string{"19620314", "19800229", "19320815", "19000000"} {
		for o := range 100 {
			p := fmt.Sprintf("%s%02d", birth, o)
			if c, ok := Mod11(p); ok {
				valid = append(valid, p+string(c))
			}
		}
	}
	for _, m := range valid {
		assertDetects(t, m)
	}
}

// assertDetects fails unless m is valid and every single-digit substitution
// and adjacent transposition of m is refused with ErrCheckDigit.
func assertDetects(t *testing.T, m string) {
	t.Helper()
	if err := Validate(m); err != nil {
		t.Fatalf("Validate(%s) = %v", m, err)
	}
	for i := range len(m) {
		for d := byte('0'); d <= '9'; d++ {
			if d == m[i] {
				continue
			}
			alt := m[:i] + string(d) + m[i+1:]
			if err := Validate(alt); !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("%s with digit %d changed: %s → %v, want ErrCheckDigit", m, i+1, alt, err)
			}
		}
		if i+1 < len(m) && m[i] != m[i+1] {
			alt := m[:i] + string(m[i+1]) + string(m[i]) + m[i+2:]
			if err := Validate(alt); !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("%s with digits %d and %d swapped: %s → %v, want ErrCheckDigit", m, i+1, i+2, alt, err)
			}
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
		{"1945000001219", "1945", true},
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
		if id.Kind == Modern && Generate(id.Digits[:8], seqOf(id.Digits)) != id.Digits {
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
