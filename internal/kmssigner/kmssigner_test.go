package kmssigner_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/awsfake"
	"github.com/luxncp/luxncp/internal/kmssigner"
)

type fixture struct {
	fake   *awsfake.KMS
	client *kms.Client
	key    *rsa.PrivateKey
	arn    string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := awsfake.NewKMS()
	t.Cleanup(f.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: f, client: kms.NewFromConfig(f.AWSConfig()), key: key, arn: f.AddKey("5e1a-lu-seal", key)}
}

func (fx *fixture) signer(t testing.TB, opts kmssigner.Options) *kmssigner.Signer {
	t.Helper()
	s, err := kmssigner.New(context.Background(), fx.client, fx.arn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerifies(t *testing.T) {
	fx := newFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	if s.KeyID() != fx.arn || !fx.key.PublicKey.Equal(s.Public()) {
		t.Fatalf("KeyID %s / public key mismatch", s.KeyID())
	}
	msg := []byte("<saml2:Assertion/>")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		hh := h.New()
		hh.Write(msg)
		digest := hh.Sum(nil)
		sig, err := s.Sign(rand.Reader, digest, h)
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		if err := rsa.VerifyPKCS1v15(&fx.key.PublicKey, h, digest, sig); err != nil {
			t.Errorf("%v: signature does not verify: %v", h, err)
		}
	}
	if got := fx.fake.Calls("GetPublicKey"); got != 1 {
		t.Errorf("GetPublicKey called %d times, want 1 (cached)", got)
	}
}

func TestSignRejects(t *testing.T) {
	fx := newFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	d256 := sha256.Sum256([]byte("x"))
	d1 := sha1.Sum([]byte("x"))
	tests := []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"sha1", d1[:], crypto.SHA1},
		{"pss with an auto salt", d256[:], &rsa.PSSOptions{Hash: crypto.SHA256}},
		{"short digest", d256[:16], crypto.SHA256},
		{"sha512 size mismatch", d256[:], crypto.SHA512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Sign(nil, tt.digest, tt.opts); err == nil {
				t.Fatal("Sign succeeded")
			}
		})
	}
	if got := fx.fake.Calls("Sign"); got != 0 {
		t.Errorf("rejected requests reached KMS %d times", got)
	}
}

func TestKMSFailures(t *testing.T) {
	digest := sha256.Sum256([]byte("x"))
	tests := []struct {
		name      string
		opts      kmssigner.Options
		fail      awsfake.Failure
		wantCode  string
		wantCalls int
		wantCtx   bool
	}{
		{name: "disabled key", fail: awsfake.Failure{Code: awsfake.KMSDisabled}, wantCode: "DisabledException", wantCalls: 1},
		{name: "throttled, default bound", fail: awsfake.Failure{Code: awsfake.Throttling}, wantCode: "ThrottlingException", wantCalls: 3},
		{name: "throttled, bound 2", opts: kmssigner.Options{MaxAttempts: 2}, fail: awsfake.Failure{Code: awsfake.Throttling}, wantCode: "ThrottlingException", wantCalls: 2},
		{name: "internal error", opts: kmssigner.Options{MaxAttempts: 4}, fail: awsfake.Failure{Code: awsfake.KMSInternal}, wantCode: "KMSInternalException", wantCalls: 4},
		{name: "timeout", opts: kmssigner.Options{Timeout: 100 * time.Millisecond}, fail: awsfake.Failure{Delay: 10 * time.Second}, wantCtx: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			s := fx.signer(t, tt.opts)
			fx.fake.FailAlways("Sign", tt.fail)
			start := clock.Now()
			_, err := s.Sign(nil, digest[:], crypto.SHA256)
			if err == nil {
				t.Fatal("Sign succeeded")
			}
			if !strings.Contains(err.Error(), fx.arn) {
				t.Errorf("error %q does not name the key", err)
			}
			if tt.wantCtx {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want deadline exceeded", err)
				}
				if el := clock.Now().Sub(start); el > 5*time.Second {
					t.Errorf("timeout took %v", el)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Errorf("err = %v, want %s", err, tt.wantCode)
			}
			if got := fx.fake.Calls("Sign"); got != tt.wantCalls {
				t.Errorf("Sign attempts = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestNewFailures(t *testing.T) {
	fx := newFixture(t)
	if _, err := kmssigner.New(context.Background(), fx.client, "no-such-key", kmssigner.Options{}); err == nil {
		t.Error("New with an unknown key succeeded")
	}
	fx.fake.FailAlways("GetPublicKey", awsfake.Failure{Code: awsfake.Throttling})
	if _, err := kmssigner.New(context.Background(), fx.client, fx.arn, kmssigner.Options{MaxAttempts: 2}); err == nil {
		t.Error("New while throttled succeeded")
	}
	if got := fx.fake.Calls("GetPublicKey"); got != 1+2 {
		t.Errorf("GetPublicKey attempts = %d, want 3", got)
	}
}

// A signature from another key (e.g. an alias moved to a new key after New)
// must be refused, not returned.
func TestSignatureFromWrongKeyRefused(t *testing.T) {
	fx := newFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fx.fake.AddKey("5e1a-lu-seal", other)
	d := sha512.Sum512_256([]byte("x"))
	if _, err := s.Sign(nil, d[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("err = %v, want a mismatch error", err)
	}
}

func selfSigned(t *testing.T, s crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Country: []string{"LU"}, Organization: []string{"luxncp test"}, CommonName: "LU seal (KMS)"},
		NotBefore:    clock.Now().Add(-time.Hour),
		NotAfter:     clock.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestWithGoxmldsig(t *testing.T) {
	fx := newFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	cert := selfSigned(t, s)
	ctx, err := dsig.NewSigningContext(s, [][]byte{cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"><saml2:Issuer>urn:ehdsi:assertions:hcp</saml2:Issuer></saml2:Assertion>`); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	// Serialise once, as a partner would receive it, and verify the bytes.
	out := etree.NewDocument()
	out.SetRoot(signed)
	wire, err := out.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	in := etree.NewDocument()
	if err := in.ReadFromString(wire); err != nil {
		t.Fatal(err)
	}
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vctx.Clock = dsig.NewFakeClockAt(clock.Now())
	if _, err := vctx.Validate(in.Root()); err != nil {
		t.Fatalf("goxmldsig does not verify the KMS signature: %v", err)
	}
}

func TestCreateCSR(t *testing.T) {
	fx := newFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	subject := pkix.Name{Country: []string{"LU"}, Organization: []string{"Agence eSanté"}, CommonName: "NCPeH-LU seal"}
	pemBytes, err := kmssigner.CreateCSR(nil, s, subject, []string{"ncp.example.lu"})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("not a CSR PEM: %q", pemBytes)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	if !fx.key.PublicKey.Equal(csr.PublicKey) || csr.Subject.String() != subject.String() || csr.DNSNames[0] != "ncp.example.lu" {
		t.Errorf("CSR = %v %v", csr.Subject, csr.DNSNames)
	}
}

// BenchmarkSign measures one Sign through the SDK against the in-process
// fake (HTTP round trip + RSA-2048 signature in the fake + local verify).
func BenchmarkSign(b *testing.B) {
	fx := newFixture(b)
	s := fx.signer(b, kmssigner.Options{})
	d := sha256.Sum256([]byte("x"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}
