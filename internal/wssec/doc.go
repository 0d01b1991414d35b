// Package wssec issues and verifies the eHDSI SAML 2.0 assertions carried in
// the WS-Security header of every MyHealth@EU request: the HCP identity
// assertion (who the health professional is, role, purpose of use,
// permissions) and the TRC assertion (treatment relationship confirmation
// for one patient).
//
// Verification follows "verify, then parse, then check": the signature is
// validated first with goxmldsig (RSA-SHA256, exclusive c14n, a signing
// certificate that chains to the trust store), and only the element that the
// signature validation returns is read — never the unverified input — so
// XML signature wrapping cannot smuggle unsigned content. Time rules use an
// injected clock.
package wssec
