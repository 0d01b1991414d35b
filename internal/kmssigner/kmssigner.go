package kmssigner

import (
	"context"
	"crypto"
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

// Signer is a crypto.Signer over one KMS asymmetric RSA key with key usage
// SIGN_VERIFY. It is safe for concurrent use.
type Signer struct {
	api    API
	keyID  string // the key's ARN, as KMS reported it
	pub    *rsa.PublicKey
	opts   Options
	callFn func(*kms.Options)
}

var _ crypto.Signer = (*Signer)(nil)

// New fetches the public key of keyID (a key id, key ARN, alias name or
// alias ARN) and returns a signer for it. It fails unless the key is an
// RSA key for signing. The signer then names the key by the ARN KMS
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
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("kms key %s: %T is not an RSA key", keyID, pub)
	}
	s.pub = rsaPub
	s.keyID = aws.ToString(out.KeyId)
	if s.keyID == "" {
		s.keyID = keyID
	}
	return s, nil
}

// KeyID returns the key's ARN as KMS reported it.
func (s *Signer) KeyID() string { return s.keyID }

// Public returns the RSA public key (fetched once by New).
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest with KMS, with the Options timeout. rand is unused:
// PKCS #1 v1.5 signatures are deterministic and made inside KMS.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), digest, opts)
}

// ErrUnsupportedHash is returned for hashes or padding schemes other than
// PKCS #1 v1.5 with SHA-256, SHA-384 or SHA-512.
var ErrUnsupportedHash = errors.New("kmssigner: unsupported signature scheme")

// SignContext is Sign with a context: the first of ctx's deadline and the
// Options timeout wins.
func (s *Signer) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, fmt.Errorf("%w: RSASSA-PSS", ErrUnsupportedHash)
	}
	var alg types.SigningAlgorithmSpec
	switch opts.HashFunc() {
	case crypto.SHA256:
		alg = types.SigningAlgorithmSpecRsassaPkcs1V15Sha256
	case crypto.SHA384:
		alg = types.SigningAlgorithmSpecRsassaPkcs1V15Sha384
	case crypto.SHA512:
		alg = types.SigningAlgorithmSpecRsassaPkcs1V15Sha512
	default:
		return nil, fmt.Errorf("%w: hash %v", ErrUnsupportedHash, opts.HashFunc())
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
	if err := rsa.VerifyPKCS1v15(s.pub, opts.HashFunc(), digest, out.Signature); err != nil {
		return nil, fmt.Errorf("kms sign with %s: signature does not match the public key: %w", s.keyID, err)
	}
	return out.Signature, nil
}

// CreateCSR returns a PEM "CERTIFICATE REQUEST" (PKCS #10, SHA256-RSA)
// for signer's public key, signed by signer, e.g. a *Signer for
// `luxncp pki csr --kms-key ARN`. rand may be nil for a KMS signer.
func CreateCSR(rand io.Reader, signer crypto.Signer, subject pkix.Name, dnsNames []string) ([]byte, error) {
	tmpl := &x509.CertificateRequest{
		Subject:            subject,
		DNSNames:           dnsNames,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificateRequest(rand, tmpl, signer)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}
