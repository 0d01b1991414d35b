package testutil

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"io"
	"math/big"
)

// FixedSigner stands in for an RSA-2048 key where a test wants a signed
// artefact to be a pure function of its input (golden digests of signed
// XML): its "signature" is the digest it is given, repeated to 256 bytes,
// so a golden digest of the output also pins what was signed. Only its
// public key's type is real (RSA, for RSA-SHA256); there is no private key.
type FixedSigner struct{}

// Public is an RSA public key of 2048 bits (2^2047), for the type only.
func (FixedSigner) Public() crypto.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2047), E: 65537}
}

// Sign returns digest repeated to 256 bytes.
func (FixedSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	out := make([]byte, 0, 256)
	for len(out) < 256 {
		out = append(out, digest...)
	}
	return out[:256], nil
}

// FixedCert is FixedSigner's "certificate": 700 fixed bytes, for code that
// writes only a certificate's Raw bytes (KeyInfo, evidence issuer details).
func FixedCert() *x509.Certificate {
	raw := make([]byte, 700)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	return &x509.Certificate{Raw: raw}
}
