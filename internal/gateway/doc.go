// Package gateway is the request pipeline every Country A IHE endpoint
// (XCPD, XCA, XDR) shares: read the SOAP 1.2 message within limits, verify
// the partner's TLS client certificate, verify the HCP identity assertion
// (and the TRC assertion where the operation needs one), check that the TLS
// country and the assertion signer's country agree, apply the operation's
// permission policy, run the operation, write its eHDSI audit record(s),
// and only then answer — a SOAP response, or a SOAP fault with the eHDSI
// code. Failing closed: anything unclassified becomes a generic Receiver
// fault; no stack trace or private cause ever reaches the partner.
package gateway
