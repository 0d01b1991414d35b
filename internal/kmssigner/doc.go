// Package kmssigner is a crypto.Signer whose private key never leaves AWS
// KMS: Sign sends the digest to the KMS Sign API (MessageType DIGEST,
// RSASSA_PKCS1_V1_5_SHA_256/384/512) and the public key comes from
// GetPublicKey, fetched once by New. It is the AWS twin of the PEM file key
// used locally for Luxembourg's eHDSI seal (XML signatures over SAML
// assertions through goxmldsig's dsig.NewSigningContext) and can sign the
// certificate request that the eHDSI PKI turns into the seal certificate
// (CreateCSR). Specs: AWS KMS API reference (Sign, GetPublicKey), RFC 8017
// (RSASSA-PKCS1-v1_5), RFC 2986 (PKCS #10).
package kmssigner
