// Package xcpd answers IHE ITI-55 Cross Gateway Patient Discovery
// (PRPA_IN201305UV02 → PRPA_IN201306UV02) as eHDSI profiles it for
// Country A: a foreign national contact point identifies a Luxembourg
// patient by national identification number (13-digit matricule, or the
// legacy 11-digit form) with optional demographics.
//
// Outcomes follow OpenNCP's responder so that partner gateways read them
// unchanged: a match (AA, OK) with ids, name, gender, birth date and
// address; no match (ERROR_PI_NO_MATCH, NF); several matches
// (ERROR_PI_MULTIPLE_MATCHES); no cross-border consent (WARNING_PI_NO_CONSENT
// with InsufficientRights, no patient data); a malformed or wrong-check-digit
// id (ERROR_PI_INCORRECT_FORMATTING, never "no match"); the national registry
// unavailable (ERROR_PI_REGISTRY_NOT_AVAILABLE).
package xcpd
