// Package peer runs simulated national contact points of neighbouring
// countries (FR, BE, DE, NL, PT) for development and tests: each serves
// XCPD (IHE ITI-55), XCA (ITI-38/39) and XDR (ITI-41) through luxncp's own
// gateway pipeline (mutual TLS, HCP/TRC assertion verification, eHDSI
// faults) over an in-memory foreign registry of synthetic patients and
// their eHDSI pivot documents (Patient Summary and ePrescription, CDA R2
// with the eHDSI 2024 templates), generated deterministically and signed
// with the peer's seal. Failure modes (slow, 5xx, SOAP fault, bad
// signature, expired/untrusted/wrong-country certificate, malformed XML)
// are switchable per peer so that luxncp's Country B side can be tested
// against each.
package peer
