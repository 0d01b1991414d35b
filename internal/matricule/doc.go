// Package matricule validates and normalises the Luxembourg national
// identification number ("matricule", OID 1.3.182.4.4).
//
// Two forms exist (règlement grand-ducal du 28 novembre 2013, art. 1, and the
// earlier loi du 30 mars 1979):
//
//   - the 13-digit form in use since 2014: birth year (4), month (2), day (2),
//     a 3-digit sequence, a Luhn check digit and a Verhoeff check digit, BOTH
//     computed over the first 11 digits. Month and day may be 00 (unknown).
//     Numbers whose first four digits are not a year exist (starting with 3
//     or 4), so the birth date is never checked against a calendar;
//   - the legacy 11-digit form (before 2014): birth date (8), a 2-digit order
//     number (odd for men, even for women) and a modulo-11 check digit with
//     the weights 5,4,3,2,7,6,5,4,3,2.
//
// Parse accepts either form; errors tell a malformed number (length,
// characters: ErrMalformed) from a wrong check digit (ErrCheckDigit).
// The package is pure: no I/O, no globals.
package matricule
