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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/kmssigner"
)

// fixture is an RSA signing key in local-kms, reached through the
// failure-injecting proxy.
type fixture struct {
	fake   *awsemu.Faults
	client *kms.Client // through fake
	admin  *kms.Client // to the emulator itself: the test's own calls are not counted
	pub    *rsa.PublicKey
	arn    string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	emu := awsemu.KMS(t)
	f := awsemu.NewFaults(t, emu)
	fx := &fixture{fake: f, client: kms.NewFromConfig(awsemu.RetryingConfig(f.URL)), admin: kms.NewFromConfig(awsemu.RetryingConfig(emu))}
	fx.arn, fx.pub = fx.newKey(t)
	return fx
}

// newPSSFixture is a fixture on awsemu.PSSKMS, for the RSASSA-PSS
// signatures local-kms does not make as AWS KMS does.
func newPSSFixture(t testing.TB) *fixture {
	t.Helper()
	k := awsemu.NewPSSKMS(t)
	f := awsemu.NewFaults(t, k.URL)
	return &fixture{fake: f, client: kms.NewFromConfig(awsemu.RetryingConfig(f.URL)), pub: k.Public(), arn: k.ARN}
}

// newKey creates an RSA 2048 signing key in KMS: its ARN and public key.
func (fx *fixture) newKey(t testing.TB) (string, *rsa.PublicKey) {
	t.Helper()
	ctx := context.Background()
	k, err := fx.admin.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := fx.admin.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyMetadata.Arn})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(k.KeyMetadata.Arn), pub.(*rsa.PublicKey)
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
	if s.KeyID() != fx.arn || !fx.pub.Equal(s.Public()) {
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
		if err := rsa.VerifyPKCS1v15(fx.pub, h, digest, sig); err != nil {
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
		fail      awsemu.Failure
		wantCode  string
		wantCalls int
		wantCtx   bool
	}{
		{name: "disabled key", fail: awsemu.Failure{Code: awsemu.KMSDisabled}, wantCode: "DisabledException", wantCalls: 1},
		{name: "throttled, default bound", fail: awsemu.Failure{Code: awsemu.Throttling}, wantCode: "ThrottlingException", wantCalls: 3},
		{name: "throttled, bound 2", opts: kmssigner.Options{MaxAttempts: 2}, fail: awsemu.Failure{Code: awsemu.Throttling}, wantCode: "ThrottlingException", wantCalls: 2},
		{name: "internal error", opts: kmssigner.Options{MaxAttempts: 4}, fail: awsemu.Failure{Code: awsemu.KMSInternal}, wantCode: "KMSInternalException", wantCalls: 4},
		{name: "timeout", opts: kmssigner.Options{Timeout: 100 * time.Millisecond}, fail: awsemu.Failure{Delay: 10 * time.Second}, wantCtx: true},
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
	fx.fake.FailAlways("GetPublicKey", awsemu.Failure{Code: awsemu.Throttling})
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
	other, _ := fx.newKey(t)
	fx.fake.Rewrite("Sign", func(req map[string]any) { req["KeyId"] = other })
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
	if !fx.pub.Equal(csr.PublicKey) || csr.Subject.String() != subject.String() || csr.DNSNames[0] != "ncp.example.lu" {
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
