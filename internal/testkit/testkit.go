// Package testkit builds what luxncp's integration tests share: a dev PKI
// generated once per test binary, an mTLS server around a handler exactly
// as the local host runs it, and Country B identities and clients for any
// dev country.
package testkit

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

var (
	once   sync.Once
	dir    string
	errPKI error
)

// PKIDir returns a dev PKI directory shared by the tests of one binary
// (generated once: RSA key generation is slow). It is removed at exit only
// by the OS temp cleaner; nothing in it is secret.
func PKIDir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, errPKI = os.MkdirTemp("", "luxncp-testpki")
		if errPKI == nil {
			_, errPKI = pki.EnsureDev(dir, pki.DevOptions{Now: clock.Now().Add(-48 * time.Hour)})
		}
	})
	if errPKI != nil {
		t.Fatal(errPKI)
	}
	return dir
}

// Trust returns the dev trust list (every dev country's TLS and seal
// certificates, each listed for its role).
func Trust(t testing.TB) *pki.TrustStore {
	t.Helper()
	ts, err := pki.LoadTrustStore(filepath.Join(PKIDir(t), pki.TrustDir))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// CAPool returns the dev CA, for clients verifying dev servers.
func CAPool(t testing.TB) *x509.CertPool {
	t.Helper()
	ca, err := pki.ReadCertificate(filepath.Join(PKIDir(t), pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// Credential loads a dev credential.
func Credential(t testing.TB, cc string, k pki.Kind) *pki.Credential {
	t.Helper()
	c, err := pki.LoadCredential(PKIDir(t), cc, k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Server starts an HTTPS server for h with Luxembourg's dev TLS certificate,
// requesting client certificates like the local host.
func Server(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(host.WithTLSPeer(h))
	srv.TLS = host.LocalTLSConfig(Credential(t, "lu", pki.KindTLS).TLSCertificate())
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// Client returns an eHDSI client presenting country cc's dev TLS certificate.
func Client(t testing.TB, cc string) *ncpclient.Client {
	t.Helper()
	var certs []tls.Certificate
	if cc != "" {
		certs = append(certs, Credential(t, cc, pki.KindTLS).TLSCertificate())
	}
	hc := ncpclient.NewMTLSClient(tls.Certificate{}, Trust(t).Pool(), 30*time.Second)
	hc.Transport.(*http.Transport).TLSClientConfig.Certificates = certs
	return &ncpclient.Client{HTTP: hc}
}

// Identity returns a Country B identity signing with cc's dev seal.
func Identity(t testing.TB, cc string, now func() time.Time) *ncpclient.Identity {
	t.Helper()
	c := Credential(t, cc, pki.KindSeal)
	return &ncpclient.Identity{Country: upper(cc), Seal: wssec.Signer{Key: c.Signer, Cert: c.Cert}, Now: now}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
