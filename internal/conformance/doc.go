// Package conformance is luxncp's operator test suite for eHDSI national
// contact points: it acts as a Country B node (its own TLS certificate and
// seal key) against any NCP that speaks the MyHealth@EU wire protocol —
// IHE XCPD (ITI-55), XCA (ITI-38/39) and XDR (ITI-41) over SOAP 1.2 with
// WS-Addressing and eHDSI SAML assertions (HCP, TRC) in WS-Security — and
// reports per case whether the node answers, refuses and faults as the eHDSI
// specifications require.
//
// Cases are data (conformance/cases/<suite>/<case>.json, see Case); the
// patient and document ids of a target come from a profile
// (conformance/profiles/<name>.json, see Profile), so one suite runs against
// any country. Run executes cases and returns a Report that WriteJSON,
// WriteJUnit, WriteHTML and WriteSummary render; Load runs the pharmacist
// iteration (XCPD → XCA eP list → retrieve L3 → retrieve L1) at a fixed rate,
// with HCP assertions reused per simulated professional's session and a TRC
// per iteration (or fresh ones each time), and reports latency percentiles.
package conformance
