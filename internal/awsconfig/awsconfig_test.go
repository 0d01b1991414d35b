package awsconfig_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
)

const bucket = "luxncp-config"

// fakeS3 is gofakes3's in-memory S3 with a switch that fails every request
// (503) and a counter of GETs.
type fakeS3 struct {
	client *s3.Client
	down   atomic.Bool
	gets   atomic.Int64
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	inner := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "SlowDown", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodGet {
			f.gets.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.client = s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	if _, err := f.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeS3) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func newStore(t *testing.T, f *fakeS3, c *testClock) *awsconfig.Store {
	t.Helper()
	s, err := awsconfig.New(f.client, awsconfig.Options{Bucket: bucket, TTL: time.Minute, StaleFor: 10 * time.Minute, MaxBytes: 1 << 16, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// selfSigned returns a synthetic certificate of country cc, PEM.
func selfSigned(t *testing.T, cc string, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ncp." + strings.ToLower(cc), Country: []string{cc}},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestNewValidates(t *testing.T) {
	if _, err := awsconfig.New(nil, awsconfig.Options{Bucket: "b"}); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := awsconfig.New(newFakeS3(t).client, awsconfig.Options{}); err == nil {
		t.Error("empty bucket accepted")
	}
}

func TestGetCachesWithTTL(t *testing.T) {
	f := newFakeS3(t)
	c := &testClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	s := newStore(t, f, c)
	ctx := context.Background()
	f.put(t, "directory/x", []byte("v1"))
	steps := []struct {
		name    string
		put     string
		advance time.Duration
		down    bool
		want    string
		wantErr bool
		gets    int64
	}{
		{name: "first read", want: "v1", gets: 1},
		{name: "cached", put: "v2", advance: 30 * time.Second, want: "v1", gets: 1},
		{name: "expired: refreshed", advance: 31 * time.Second, want: "v2", gets: 2},
		{name: "outage: the last good copy", advance: 2 * time.Minute, down: true, want: "v2", gets: 2},
		{name: "outage past StaleFor: an error", advance: 10 * time.Minute, down: true, wantErr: true, gets: 2},
		{name: "recovered", want: "v2", gets: 3},
	}
	for _, st := range steps {
		if st.put != "" {
			f.put(t, "directory/x", []byte(st.put))
		}
		c.t = c.t.Add(st.advance)
		f.down.Store(st.down)
		got, err := s.Get(ctx, "directory/x")
		if (err != nil) != st.wantErr || (!st.wantErr && string(got) != st.want) {
			t.Fatalf("%s: Get = %q, %v; want %q (error %v)", st.name, got, err, st.want, st.wantErr)
		}
		if n := f.gets.Load(); n != st.gets {
			t.Fatalf("%s: %d GETs, want %d", st.name, n, st.gets)
		}
	}
}

func TestGetErrors(t *testing.T) {
	f := newFakeS3(t)
	s := newStore(t, f, &testClock{t: clock.Now()})
	ctx := context.Background()
	if _, err := s.Get(ctx, "nope.pem"); !errors.Is(err, awsconfig.ErrNotFound) {
		t.Errorf("missing object: %v", err)
	}
	f.put(t, "big", bytes.Repeat([]byte("x"), 1<<16+1))
	if _, err := s.Get(ctx, "big"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized object: %v", err)
	}
	f.put(t, "notpem", []byte("hello"))
	if _, err := s.TrustStore(ctx, "notpem", 0); err == nil {
		t.Error("a trust bundle without certificates was accepted")
	}
}

func TestTrustStoreAndWriteFile(t *testing.T) {
	f := newFakeS3(t)
	s := newStore(t, f, &testClock{t: clock.Now()})
	ctx := context.Background()
	bundle := append(append([]byte("Country: FR\nRole: tls\n"), selfSigned(t, "FR", clock.Now().Add(90*24*time.Hour))...),
		append([]byte("Country: BE\nRole: tls\n"), selfSigned(t, "BE", clock.Now().Add(30*24*time.Hour))...)...)
	f.put(t, awsconfig.KeyTrustBundle, bundle)
	ts, err := s.TrustStore(ctx, awsconfig.KeyTrustBundle, 0)
	if err != nil || len(ts.CAs()) != 2 || ts.CAs()[1].Subject.Country[0] != "BE" {
		t.Fatalf("trust store = %v, %v", ts, err)
	}
	path := filepath.Join(t.TempDir(), "pki", "ca.pem")
	if err := s.WriteFile(ctx, awsconfig.KeyTrustBundle, path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bundle) {
		t.Error("written bundle differs")
	}
}

func directoryDoc(t *testing.T, countries ...string) []byte {
	t.Helper()
	var cs []routing.Country
	for _, cc := range countries {
		cert := selfSigned(t, cc, clock.Now().Add(90*24*time.Hour))
		cs = append(cs, routing.Country{Code: cc, HomeCommunityID: "2.16.17.710.790.1000.990.1", Endpoints: []routing.Endpoint{
			{Transaction: "ITI-55", URL: "https://ncp." + strings.ToLower(cc) + ".example/XCPD_Service", Certificate: string(cert)}}})
	}
	st, err := routing.NewStatic(cs...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDirectory(t *testing.T) {
	f := newFakeS3(t)
	c := &testClock{t: clock.Now()}
	s := newStore(t, f, c)
	ctx := context.Background()
	d := &awsconfig.Directory{Store: s}
	if _, err := d.Lookup(ctx, "FR"); !errors.Is(err, awsconfig.ErrNotFound) {
		t.Fatalf("no directory yet: %v", err)
	}
	f.put(t, awsconfig.KeyDirectory, directoryDoc(t, "FR", "BE"))
	fr, err := d.Lookup(ctx, "fr")
	if err != nil || fr.Code != "FR" || fr.Endpoints[0].Cert() == nil {
		t.Fatalf("Lookup(fr) = %+v, %v", fr, err)
	}
	if _, err := d.Lookup(ctx, "DE"); !errors.Is(err, routing.ErrUnknownCountry) {
		t.Errorf("Lookup(DE): %v", err)
	}
	// A new document is seen after the TTL.
	f.put(t, awsconfig.KeyDirectory, directoryDoc(t, "DE"))
	c.t = c.t.Add(2 * time.Minute)
	all, err := d.Countries(ctx)
	if err != nil || len(all) != 1 || all[0].Code != "DE" {
		t.Fatalf("Countries after refresh = %+v, %v", all, err)
	}
	// A broken document is an error, not an empty directory.
	f.put(t, awsconfig.KeyDirectory, []byte(`{"version":2}`))
	c.t = c.t.Add(2 * time.Minute)
	if _, err := d.Countries(ctx); err == nil {
		t.Error("a broken directory was accepted")
	}
}

// TestTrustListReloadsFromTheBucket: a partner added to the bucket's trust
// list is accepted once the cache has expired, without a new instance.
func TestTrustListReloadsFromTheBucket(t *testing.T) {
	f := newFakeS3(t)
	c := &testClock{t: clock.Now()}
	s := newStore(t, f, c)
	ctx := context.Background()
	fr := selfSigned(t, "FR", clock.Now().Add(90*24*time.Hour))
	be := selfSigned(t, "BE", clock.Now().Add(90*24*time.Hour))
	f.put(t, awsconfig.KeyTrustBundle, append([]byte("Country: FR\nRole: tls\n"), fr...))
	ts, err := s.TrustStore(ctx, awsconfig.KeyTrustBundle, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	beCerts, _ := pki.ParseCertificates(be)
	if _, err := ts.Verify(beCerts[0], nil, c.t, pki.UseTLSClient); err == nil {
		t.Fatal("BE accepted before it was listed")
	}
	f.put(t, awsconfig.KeyTrustBundle, append(append([]byte("Country: FR\nRole: tls\n"), fr...), append([]byte("Country: BE\nRole: tls\n"), be...)...))
	c.t = c.t.Add(2 * time.Minute) // past the Store's TTL and the refresh
	if cc, err := ts.Verify(beCerts[0], nil, c.t, pki.UseTLSClient); err != nil || cc != "BE" {
		t.Fatalf("BE after the bucket changed: %q %v", cc, err)
	}
}
