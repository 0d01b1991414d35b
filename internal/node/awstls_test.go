package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

// TestBuildAWSTLSClient: Country B's outbound TLS client key is a KMS key
// (local-kms; ECC_NIST_P256 as terraform/modules/keys creates it) paired
// with the certificate in the configuration bucket. A certificate of
// another key stops the start; with the right one, a real mutual TLS
// handshake (TLS 1.3 and 1.2, CertificateVerify signed in KMS) reaches a
// server that requires a client certificate, and the server sees that
// certificate. (RSA keys: RSASSA-PSS for TLS 1.3 is tested in
// internal/kmssigner, since local-kms's PSS salt is not AWS's.)
func TestBuildAWSTLSClient(t *testing.T) {
	ctx := context.Background()
	k := kms.New(kms.Options{BaseEndpoint: aws.String(awsemu.KMS(t)), Region: awsemu.Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	cl := node.AWSClients{KMS: k, S3: fakeS3Client(t, "config")}
	newKey := func(spec kmstypes.KeySpec) string {
		key, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(key.KeyMetadata.Arn)
	}
	cfg := node.Config{StateDir: t.TempDir()}.Defaults()
	build := func(env node.AWSEnv) (node.AWSTwins, error) {
		return node.BuildAWS(ctx, env, cl, cfg, quietLog())
	}
	tlsKey := newKey(kmstypes.KeySpecEccNistP256)

	if _, err := build(node.AWSEnv{TLSClientKMSKey: tlsKey, LocalTrustBundle: true}); err == nil || !strings.Contains(err.Error(), "LUXNCP_CONFIG_BUCKET") {
		t.Fatalf("TLS client key without a config bucket: err = %v", err)
	}
	upload := func(objKey string, cert []byte) {
		if _, err := cl.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("config"), Key: aws.String(objKey), Body: bytes.NewReader(cert)}); err != nil {
			t.Fatal(err)
		}
	}
	env, err := node.LoadAWSEnv(func(name string) string {
		return map[string]string{"LUXNCP_CONFIG_BUCKET": "config", "LUXNCP_TLS_CLIENT_KMS_KEY": tlsKey, "LUXNCP_TRUST_BUNDLE": "local"}[name]
	})
	if err != nil || env.TLSClientCertKey != awsconfig.KeyTLSClient {
		t.Fatalf("LoadAWSEnv: %+v %v", env, err)
	}
	// Another key's certificate: no start.
	upload(awsconfig.KeyTLSClient, sealCertificate(t, cl, newKey(kmstypes.KeySpecEccNistP256)))
	if _, err := build(env); err == nil || !strings.Contains(err.Error(), "is not the certificate of KMS key") {
		t.Fatalf("another key's certificate: err = %v", err)
	}

	// Its own certificate, under another object key
	// (LUXNCP_TLS_CLIENT_CERT_KEY): a fresh store, since the
	// configuration cache would keep the first object.
	const objKey = "certificates/tls-client-2.pem"
	certPEM := sealCertificate(t, cl, tlsKey)
	upload(objKey, certPEM)
	env.TLSClientCertKey = objKey
	tw, err := build(env)
	if err != nil {
		t.Fatal(err)
	}
	if tw.CountryB.TLS == nil {
		t.Fatal("Country B TLS credential not wired")
	}
	want, err := pki.ParseCertificates(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		got, err := handshake(t, tw.CountryB.TLS.TLSCertificate(), v)
		if err != nil {
			t.Fatalf("TLS %x handshake: %v", v, err)
		}
		if !got.Equal(want[0]) {
			t.Fatalf("TLS %x: server saw %s, want %s", v, got.Subject, want[0].Subject)
		}
	}
}

// handshake runs one mutual TLS handshake at version v over an in-memory
// connection against a server that requires a client certificate, and
// returns the certificate the server saw.
func handshake(t *testing.T, client tls.Certificate, v uint16) (*x509.Certificate, error) {
	t.Helper()
	srvCred := testkit.Credential(t, "fr", pki.KindTLS)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{srvCred.TLSCertificate()}, ClientAuth: tls.RequireAnyClientCert,
		MinVersion: v, MaxVersion: v, Time: clock.System()})
	cli := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{client}, InsecureSkipVerify: true, //nolint:gosec // the server is under test, not verified
		MinVersion: v, MaxVersion: v, Time: clock.System()})
	done := make(chan error, 1)
	go func() { done <- cli.Handshake() }()
	serr := srv.Handshake()
	if serr != nil {
		a.Close() // unblock the client
	}
	cerr := <-done
	if cerr != nil {
		return nil, cerr
	}
	if serr != nil {
		return nil, serr
	}
	st := srv.ConnectionState()
	if st.Version != v || len(st.PeerCertificates) == 0 {
		return nil, net.UnknownNetworkError("no client certificate")
	}
	return st.PeerCertificates[0], nil
}
