// Package countryb is luxncp's Country B service: the /api/v1/ JSON API
// (over HTTPS with mutual TLS) through which Luxembourg's professional
// software reaches the contact points of other countries. For each request
// it issues the HCP identity assertion and, where needed, the TRC
// assertion (eHDSI SAML profile) for the stated professional, signed with
// Luxembourg's seal (a crypto.Signer), routes the IHE transaction (XCPD
// ITI-55, XCA ITI-38/39, XDR ITI-41) through package routing, checks what
// comes back (signatures, the eHDSI document rules luxncp relies on, the
// patient), translates and renders documents (package render), and audits
// every outbound transaction on the Country B side, communication failures
// included (EHDSI-CF).
package countryb
