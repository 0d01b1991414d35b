package kmssigner

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// API is the part of the KMS client the signer calls; *kms.Client has it.
type API interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// Options tune the calls to KMS. The zero value is the production default.
type Options struct {
	// Timeout bounds one Sign or GetPublicKey, retries included, when the
	// caller's context has no earlier deadline. 0 means 5 s.
	Timeout time.Duration
	// MaxAttempts bounds the attempts per call (throttling and 5xx are
	// retried by the SDK). 0 means 3.
	MaxAttempts int
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 5 * time.Second
	}
	return o.Timeout
}

func (o Options) maxAttempts() int {
	if o.MaxAttempts <= 0 {
		return 3
	}
	return o.MaxAttempts
}

// Signer is a crypto.Signer over one KMS asymmetric signing key (key usage
// SIGN_VERIFY): RSA (PKCS #1 v1.5, and RSASSA-PSS when opts is
// *rsa.PSSOptions, as TLS 1.3 requires) or ECDSA on P-256/P-384/P-521. It is
// safe for concurrent use.
type Signer struct {
	api    API
	keyID  string           // the key's ARN, as KMS reported it
	pub    crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
	opts   Options
	callFn func(*kms.Options)
}

var _ crypto.Signer = (*Signer)(nil)

// New fetches the public key of keyID (a key id, key ARN, alias name or
// alias ARN) and returns a signer for it. It fails unless the key is an
// RSA or NIST-curve ECDSA key for signing. The signer then names the key by the ARN KMS
// returned, so moving an alias later has no effect on it: make a new Signer
// (with the new certificate) to switch keys.
func New(ctx context.Context, api API, keyID string, opts Options) (*Signer, error) {
	s := &Signer{api: api, opts: opts}
	n := opts.maxAttempts()
	s.callFn = func(o *kms.Options) { o.RetryMaxAttempts = n }
	ctx, cancel := context.WithTimeout(ctx, opts.timeout())
	defer cancel()
	out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)}, s.callFn)
	if err != nil {
		return nil, fmt.Errorf("kms get public key %s: %w", keyID, err)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("kms key %s: key usage %s, want SIGN_VERIFY", keyID, out.KeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: parse public key: %w", keyID, err)
	}
	switch p := pub.(type) {
	case *rsa.PublicKey:
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() && p.Curve != elliptic.P384() && p.Curve != elliptic.P521() {
			return nil, fmt.Errorf("kms key %s: unsupported curve %s", keyID, p.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("kms key %s: %T is neither an RSA nor an ECDSA key", keyID, pub)
	}
	s.pub = pub
	s.keyID = aws.ToString(out.KeyId)
	if s.keyID == "" {
		s.keyID = keyID
	}
	return s, nil
}

// KeyID returns the key's ARN as KMS reported it.
func (s *Signer) KeyID() string { return s.keyID }

// Public returns the public key, *rsa.PublicKey or *ecdsa.PublicKey
// (fetched once by New).
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest with KMS, with the Options timeout. rand is unused:
// the signature (and any PSS salt or ECDSA nonce) is made inside KMS.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), digest, opts)
}

// ErrUnsupportedHash is returned for hashes other than SHA-256, SHA-384 or
// SHA-512, and for RSASSA-PSS with a salt length KMS does not use (KMS's
// salt is as long as the hash: rsa.PSSSaltLengthEqualsHash).
var ErrUnsupportedHash = errors.New("kmssigner: unsupported signature scheme")

// SignContext is Sign with a context: the first of ctx's deadline and the
// Options timeout wins.
func (s *Signer) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := s.algorithm(opts)
	if err != nil {
		return nil, err
	}
	if len(digest) != opts.HashFunc().Size() {
		return nil, fmt.Errorf("kmssigner: digest is %d bytes, want %d", len(digest), opts.HashFunc().Size())
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout())
	defer cancel()
	out, err := s.api.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.keyID),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: alg,
	}, s.callFn)
	if err != nil {
		return nil, fmt.Errorf("kms sign with %s: %w", s.keyID, err)
	}
	// A signature that does not verify (key rotated behind an alias, wrong
	// key) must not leave the process: check it against the cached key.
	if err := s.verify(digest, out.Signature, opts); err != nil {
		return nil, fmt.Errorf("kms sign with %s: signature does not match the public key: %w", s.keyID, err)
	}
	return out.Signature, nil
}

// algorithm is the KMS signing algorithm for the key's type and opts.
func (s *Signer) algorithm(opts crypto.SignerOpts) (types.SigningAlgorithmSpec, error) {
	h := opts.HashFunc()
	i := map[crypto.Hash]int{crypto.SHA256: 0, crypto.SHA384: 1, crypto.SHA512: 2}
	n, ok := i[h]
	if !ok {
		return "", fmt.Errorf("%w: hash %v", ErrUnsupportedHash, h)
	}
	if _, ec := s.pub.(*ecdsa.PublicKey); ec {
		return []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha256, types.SigningAlgorithmSpecEcdsaSha384, types.SigningAlgorithmSpecEcdsaSha512}[n], nil
	}
	if pss, ok := opts.(*rsa.PSSOptions); ok {
		if pss.SaltLength != rsa.PSSSaltLengthEqualsHash && pss.SaltLength != h.Size() {
			return "", fmt.Errorf("%w: RSASSA-PSS salt length %d (KMS uses the hash length)", ErrUnsupportedHash, pss.SaltLength)
		}
		return []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecRsassaPssSha256, types.SigningAlgorithmSpecRsassaPssSha384, types.SigningAlgorithmSpecRsassaPssSha512}[n], nil
	}
	return []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, types.SigningAlgorithmSpecRsassaPkcs1V15Sha384, types.SigningAlgorithmSpecRsassaPkcs1V15Sha512}[n], nil
}

// verify checks sig over digest with the cached public key.
func (s *Signer) verify(digest, sig []byte, opts crypto.SignerOpts) error {
	switch pub := s.pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("ecdsa: verification error")
		}
		return nil
	case *rsa.PublicKey:
		if _, pss := opts.(*rsa.PSSOptions); pss {
			return rsa.VerifyPSS(pub, opts.HashFunc(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(pub, opts.HashFunc(), digest, sig)
	}
	return fmt.Errorf("kmssigner: %T", s.pub)
}

// CreateCSR returns a PEM "CERTIFICATE REQUEST" (PKCS #10; SHA256-RSA for
// an RSA key, ECDSA-SHA256 for P-256) for signer's public key, signed by signer, e.g. a *Signer for
// `luxncp pki csr --kms-key ARN`. rand may be nil for a KMS signer.
func CreateCSR(rand io.Reader, signer crypto.Signer, subject pkix.Name, dnsNames []string) ([]byte, error) {
	tmpl := &x509.CertificateRequest{
		Subject:  subject,
		DNSNames: dnsNames,
	}
	der, err := x509.CreateCertificateRequest(rand, tmpl, signer)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}
