package matricule

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error this package returns wraps exactly one of them.
var (
	// ErrMalformed: wrong length or a character that is not a digit.
	ErrMalformed = errors.New("malformed matricule")
	// ErrCheckDigit: the right shape, but a check digit does not match.
	ErrCheckDigit = errors.New("matricule check digit mismatch")
)

// Kind tells which form a matricule has.
type Kind int

// The forms of the Luxembourg national identification number.
const (
	// Modern is the 13-digit form (since 2014).
	Modern Kind = 13
	// Legacy is the 11-digit form (before 2014).
	Legacy Kind = 11
)

// Error is the typed error of Parse and Validate. Value is the input after
// removing spaces, dots and dashes; it is patient data: log it at debug
// level only.
type Error struct {
	Value  string
	Reason string
	err    error // ErrMalformed or ErrCheckDigit
}

func (e *Error) Error() string { return e.err.Error() + ": " + e.Reason }

// Unwrap returns ErrMalformed or ErrCheckDigit.
func (e *Error) Unwrap() error { return e.err }

// ID is a validated matricule.
type ID struct {
	// Digits is the validated number, 11 or 13 digits.
	Digits string
	Kind   Kind
}

// String returns the digits.
func (id ID) String() string { return id.Digits }

// BirthDate returns the first 8 digits as YYYY-MM-DD, YYYY-MM or YYYY when
// month or day are 00. ok is false when the digits do not look like a date
// (e.g. numbers starting with 3 or 4, or month > 12): such numbers are still
// valid matricules.
func (id ID) BirthDate() (date string, ok bool) {
	return BirthDateOf(id.Digits)
}

// BirthDateOf is BirthDate for a raw digit string of at least 8 digits.
func BirthDateOf(digits string) (string, bool) {
	if len(digits) < 8 || !allDigits(digits[:8]) {
		return "", false
	}
	y, m, d := digits[:4], digits[4:6], digits[6:8]
	if y[0] != '1' && y[0] != '2' {
		return "", false
	}
	mm := int(m[0]-'0')*10 + int(m[1]-'0')
	dd := int(d[0]-'0')*10 + int(d[1]-'0')
	if mm > 12 || dd > 31 || (mm == 0 && dd != 0) {
		return "", false
	}
	switch {
	case mm == 0:
		return y, true
	case dd == 0:
		return y + "-" + m, true
	}
	return y + "-" + m + "-" + d, true
}

// Normalize removes the separators people type (spaces, dots, dashes,
// slashes) and nothing else.
func Normalize(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '.', '-', '/':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// Parse normalises s and validates it as a 13-digit or legacy 11-digit
// matricule.
func Parse(s string) (ID, error) {
	v := Normalize(s)
	if !allDigits(v) {
		return ID{}, &Error{Value: v, Reason: "only digits are allowed", err: ErrMalformed}
	}
	switch len(v) {
	case 13:
		if l := Luhn(v[:11]); v[11] != l {
			return ID{}, &Error{Value: v, Reason: fmt.Sprintf("Luhn digit is %c, expected %c", v[11], l), err: ErrCheckDigit}
		}
		if c := Verhoeff(v[:11]); v[12] != c {
			return ID{}, &Error{Value: v, Reason: fmt.Sprintf("Verhoeff digit is %c, expected %c", v[12], c), err: ErrCheckDigit}
		}
		return ID{Digits: v, Kind: Modern}, nil
	case 11:
		c, ok := Mod11(v[:10])
		if !ok {
			return ID{}, &Error{Value: v, Reason: "no valid modulo-11 check digit exists for this number", err: ErrCheckDigit}
		}
		if v[10] != c {
			return ID{}, &Error{Value: v, Reason: fmt.Sprintf("modulo-11 digit is %c, expected %c", v[10], c), err: ErrCheckDigit}
		}
		return ID{Digits: v, Kind: Legacy}, nil
	}
	return ID{}, &Error{Value: v, Reason: fmt.Sprintf("%d digits, expected 13 (or 11 for the legacy form)", len(v)), err: ErrMalformed}
}

// Validate reports whether s is a valid matricule of either form; the error
// wraps ErrMalformed or ErrCheckDigit.
func Validate(s string) error {
	_, err := Parse(s)
	return err
}

// Generate returns the 13-digit matricule for birth (YYYYMMDD, or
// YYYY-MM-DD; month and day may be 00) and the 3-digit sequence seq
// (0..999). It panics on bad input: it is meant for fixtures and tests.
func Generate(birth string, seq int) string {
	b := strings.ReplaceAll(birth, "-", "")
	if len(b) != 8 || !allDigits(b) || seq < 0 || seq > 999 {
		panic(fmt.Sprintf("matricule.Generate(%q, %d): want YYYYMMDD and 0 <= seq <= 999", birth, seq))
	}
	p := fmt.Sprintf("%s%03d", b, seq)
	return p + string(Luhn(p)) + string(Verhoeff(p))
}

// GenerateLegacy returns the legacy 11-digit matricule for birth (YYYYMMDD
// or YYYY-MM-DD) and the first order number from order upwards (0..99), in
// steps of 2 so the parity (odd male, even female) is kept, for which a
// modulo-11 check digit exists. It panics on bad input.
func GenerateLegacy(birth string, order int) string {
	b := strings.ReplaceAll(birth, "-", "")
	if len(b) != 8 || !allDigits(b) || order < 0 || order > 99 {
		panic(fmt.Sprintf("matricule.GenerateLegacy(%q, %d): want YYYYMMDD and 0 <= order <= 99", birth, order))
	}
	for o := order; o <= 99; o += 2 {
		p := fmt.Sprintf("%s%02d", b, o)
		if c, ok := Mod11(p); ok {
			return p + string(c)
		}
	}
	panic(fmt.Sprintf("matricule.GenerateLegacy(%q, %d): no order number left", birth, order))
}

// Luhn returns the Luhn check digit of the digit string s.
func Luhn(s string) byte {
	sum := 0
	double := true // the rightmost digit of s is doubled (the check digit follows it)
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// The Verhoeff scheme (J. Verhoeff, Error Detecting Decimal Codes, 1969):
// verhoeffD is the Cayley table of the dihedral group D5 (0–4 the rotations,
// 5–9 the reflections), verhoeffP[k] is the k-th power of the permutation
// verhoeffP[1] = (0 1 5 8 9 4 2 7)(3 6), and verhoeffInv[i] is the inverse of
// i in D5: a rotation r is undone by 5−r, a reflection by itself. The
// properties are checked in TestVerhoeffTables.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	verhoeffInv = [10]byte{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

// Verhoeff returns the Verhoeff check digit of the digit string s.
// (The tables are read-only lookup data, not mutable state.)
func Verhoeff(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		d := s[len(s)-1-i] - '0'
		c = verhoeffD[c][verhoeffP[(i+1)%8][d]]
	}
	return '0' + verhoeffInv[c]
}

// Mod11 returns the legacy modulo-11 check digit of a 10-digit string
// (weights 5,4,3,2,7,6,5,4,3,2; digit = 11 - sum mod 11, 11 → 0). ok is
// false when the remainder is 1: no such number was ever issued.
func Mod11(s string) (byte, bool) {
	weights := [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
	if len(s) != 10 {
		return 0, false
	}
	sum := 0
	for i := range 10 {
		sum += int(s[i]-'0') * weights[i]
	}
	c := 11 - sum%11
	switch c {
	case 11:
		return '0', true
	case 10:
		return 0, false
	}
	return byte('0' + c), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
