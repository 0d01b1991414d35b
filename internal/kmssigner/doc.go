// Package kmssigner is a crypto.Signer whose private key never leaves AWS
// KMS: Sign sends the digest to the KMS Sign API (MessageType DIGEST;
// RSASSA_PKCS1_V1_5_SHA_*, RSASSA_PSS_SHA_* when opts is *rsa.PSSOptions,
// or ECDSA_SHA_*) and the public key comes from GetPublicKey, fetched once
// by New. It is the AWS twin of the PEM file keys used locally for
// Luxembourg's eHDSI seal (XML signatures over SAML assertions through
// goxmldsig's dsig.NewSigningContext) and for the TLS client certificate of
// outbound mutual TLS (tls.Certificate.PrivateKey: TLS 1.3 signs
// CertificateVerify with RSASSA-PSS or ECDSA, TLS 1.2 also with PKCS #1
// v1.5), and can sign the certificate request that the eHDSI PKI turns into
// a certificate (CreateCSR). Specs: AWS KMS API reference (Sign,
// GetPublicKey), RFC 8017 (RSASSA-PKCS1-v1_5, RSASSA-PSS), RFC 8446 §4.4.3
// (CertificateVerify), FIPS 186-4 (ECDSA), RFC 2986 (PKCS #10).
package kmssigner
