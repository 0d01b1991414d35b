// Package pki holds luxncp's certificates and keys: the development PKI that
// `luxncp serve` generates on first start (a dev CA, and for each country a
// TLS certificate and a seal certificate with C=<COUNTRY> in the subject),
// the trust store that decides which partner certificates are accepted
// (chain to a trusted CA, validity, key usage), and the file-backed
// crypto.Signer for the seal key. Production keys live in KMS (see
// internal/kmssigner); nothing here is ever committed: keys are generated at
// run time or in tests.
package pki
