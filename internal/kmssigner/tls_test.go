package kmssigner_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/kmssigner"
)

// TestSignPSS: opts *rsa.PSSOptions selects RSASSA_PSS with KMS's salt
// (the digest's length), as TLS 1.3 asks for it; other salt lengths never
// reach KMS.
func TestSignPSS(t *testing.T) {
	fx := newPSSFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	d := sha256.Sum256([]byte("CertificateVerify"))
	opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
	sig, err := s.Sign(nil, d[:], opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(fx.pub, crypto.SHA256, d[:], sig, opts); err != nil {
		t.Fatalf("PSS signature does not verify: %v", err)
	}
	if _, err := s.Sign(nil, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}); !errors.Is(err, kmssigner.ErrUnsupportedHash) {
		t.Fatalf("salt length 20: %v", err)
	}
}

// TestTLSClientAuthRSA: a *Signer over an RSA key is the private key of a
// TLS client certificate; a server requiring client certificates completes
// the handshake (TLS 1.3: RSASSA-PSS; TLS 1.2) and sees the certificate.
func TestTLSClientAuthRSA(t *testing.T) {
	fx := newPSSFixture(t)
	s := fx.signer(t, kmssigner.Options{})
	tlsHandshakes(t, s)
	if fx.fake.Calls("Sign") < 3 { // certificate + one CertificateVerify per handshake
		t.Errorf("Sign called %d times: the handshakes were not signed in KMS", fx.fake.Calls("Sign"))
	}
}

// TestTLSClientAuthECDSAOnLocalKMS: the same with an ECC_NIST_P256 key in
// local-kms (ECDSA_SHA_256 signatures in ASN.1 DER, as crypto.Signer
// returns them).
func TestTLSClientAuthECDSAOnLocalKMS(t *testing.T) {
	s := localKMSSigner(t, kmstypes.KeySpecEccNistP256)
	if _, ok := s.Public().(*ecdsa.PublicKey); !ok {
		t.Fatalf("public key %T", s.Public())
	}
	tlsHandshakes(t, s)
}

// TestNonstandardPSSSaltRefused: local-kms signs RSASSA_PSS with the
// longest salt (not AWS's digest-length salt), which TLS 1.3 peers refuse;
// the signer's own verification keeps such a signature from leaving.
func TestNonstandardPSSSaltRefused(t *testing.T) {
	s := localKMSSigner(t, kmstypes.KeySpecRsa2048)
	d := sha256.Sum256([]byte("x"))
	if _, err := s.Sign(nil, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}); err == nil {
		t.Fatal("a PSS signature with another salt length left the signer")
	}
	if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatalf("PKCS #1 v1.5 on local-kms: %v", err)
	}
}

func localKMSSigner(t *testing.T, spec kmstypes.KeySpec) *kmssigner.Signer {
	t.Helper()
	ctx := context.Background()
	k := kms.New(kms.Options{BaseEndpoint: aws.String(awsemu.KMS(t)), Region: awsemu.Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	s, err := kmssigner.New(ctx, k, aws.ToString(key.KeyMetadata.Arn), kmssigner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tlsHandshakes makes a client certificate for s (self-signed in KMS) and
// runs a TLS 1.3 and a TLS 1.2 handshake against a server that requires a
// client certificate.
func tlsHandshakes(t *testing.T, s crypto.Signer) {
	t.Helper()
	now := clock.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "tls.ncp.example.lu", Country: []string{"LU"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, DNSNames: []string{"tls.ncp.example.lu"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &srvKey.PublicKey, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	client := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: s, Leaf: leaf}
	server := tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		a, b := net.Pipe()
		srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequireAnyClientCert,
			MinVersion: v, MaxVersion: v, Time: clock.System()})
		cli := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{client}, InsecureSkipVerify: true, //nolint:gosec // the client is under test
			MinVersion: v, MaxVersion: v, Time: clock.System()})
		done := make(chan error, 1)
		go func() { done <- cli.Handshake() }()
		serr := srv.Handshake()
		if serr != nil {
			a.Close()
		}
		if cerr := <-done; cerr != nil {
			t.Fatalf("TLS %x: client: %v", v, cerr)
		}
		if serr != nil {
			t.Fatalf("TLS %x: server: %v", v, serr)
		}
		st := srv.ConnectionState()
		if st.Version != v || len(st.PeerCertificates) != 1 || !st.PeerCertificates[0].Equal(leaf) {
			t.Fatalf("TLS %x: server saw version %x, %d certificates", v, st.Version, len(st.PeerCertificates))
		}
		a.Close()
		b.Close()
	}
}
