// Package matricule validates and normalises the Luxembourg national
// identification number ("matricule", OID 1.3.182.4.4).
//
// Two forms exist:
//
//   - the 13-digit form in use since 2014 (règlement grand-ducal du
//     28 novembre 2013, art. 1): birth year (4), month (2), day (2), a 3-digit
//     sequence, a Luhn check digit and a Verhoeff check digit, BOTH computed
//     over the first 11 digits. Month and day may be 00 (unknown). Numbers
//     whose first four digits are not a year exist (starting with 3 or 4), so
//     the birth date is never checked against a calendar;
//   - the legacy 11-digit form (loi du 30 mars 1979; règlement grand-ducal du
//     21 décembre 1987, art. 1): birth date (8, month and day 00 when
//     unknown), a 2-digit order number (odd for men, even for women) and a
//     check digit: 11 minus the remainder modulo 11 of the first 10 digits
//     weighted 5,4,3,2,7,6,5,4,3,2; a remainder of 0 gives 0, and numbers
//     whose remainder is 1 are not issued. The published rules also describe
//     a second and a third check-digit mode (12, then 13, minus the
//     remainder), used once the order numbers of a birth date are exhausted;
//     Parse accepts the first mode only (the 13-digit form replaced the
//     legacy one in 2014).
//
// Parse accepts either form; errors tell a malformed number (length,
// characters: ErrMalformed) from a wrong check digit (ErrCheckDigit).
// The package is pure: no I/O, no globals.
package matricule
