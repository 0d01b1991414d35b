package pki_test

import (
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

// revFixture is a partner CA (FR, listed for both roles) with its OCSP
// responder and CRL server on loopback, and a trust store that checks
// revocation.
type revFixture struct {
	ca   *testkit.CA
	resp *testkit.Responder
	ts   *pki.TrustStore
}

func newRevFixture(t *testing.T, conf func(*pki.Revocation)) *revFixture {
	t.Helper()
	ca := testkit.NewCA(t, testkit.Cert{CN: "FR NCP CA", Country: "FR"})
	f := &revFixture{ca: ca, resp: testkit.NewResponder(t, ca), ts: pki.NewTrustStore(pki.Anchors(ca.Cert, "FR")...)}
	rev := &pki.Revocation{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if conf != nil {
		conf(rev)
	}
	f.ts.Revocation = rev
	return f
}

// leaf issues a partner certificate naming the responder and/or the CRL.
func (f *revFixture) leaf(t *testing.T, withOCSP, withCRL bool) *pki.Credential {
	t.Helper()
	spec := testkit.Cert{CN: "ncp.fr", Country: "FR", KeyUsage: x509.KeyUsageDigitalSignature}
	if withOCSP {
		spec.OCSP = f.resp.OCSPURL()
	}
	if withCRL {
		spec.CRL = f.resp.CRLURL()
	}
	return f.ca.Issue(t, spec)
}

func (f *revFixture) verify(c *pki.Credential, use pki.Use, now time.Time) error {
	_, err := f.ts.Verify(c.Cert, c.Chain, now, use)
	return err
}

// TestRevocation: OCSP first, CRL as fallback, each answer verified and
// fresh, and the fail policy of the role when no answer can be had.
func TestRevocation(t *testing.T) {
	const ocspOnly, crlOnly, both = 1, 2, 3
	cases := []struct {
		name  string
		conf  func(*pki.Revocation)
		names int // which of OCSP / CRL the leaf names
		setup func(t *testing.T, f *revFixture, leaf *pki.Credential)
		use   pki.Use
		want  error // nil: accepted
	}{
		{"good via OCSP", nil, ocspOnly, nil, pki.UseSeal, nil},
		{"good via CRL", nil, crlOnly, nil, pki.UseSeal, nil},
		{"revoked via OCSP", nil, ocspOnly, func(t *testing.T, f *revFixture, l *pki.Credential) { f.resp.Revoke(l.Cert.SerialNumber) }, pki.UseSeal, pki.ErrRevoked},
		{"revoked via OCSP, soft policy too", nil, ocspOnly, func(t *testing.T, f *revFixture, l *pki.Credential) { f.resp.Revoke(l.Cert.SerialNumber) }, pki.UseTLSClient, pki.ErrRevoked},
		{"revoked via CRL", nil, crlOnly, func(t *testing.T, f *revFixture, l *pki.Credential) { f.resp.Revoke(l.Cert.SerialNumber) }, pki.UseSeal, pki.ErrRevoked},
		{"responder down, seal (hard by default)", nil, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) { f.resp.SetDown(true) }, pki.UseSeal, pki.ErrRevocationCheck},
		{"responder down, TLS (soft by default)", nil, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) { f.resp.SetDown(true) }, pki.UseTLSClient, nil},
		{"responder down, TLS configured hard", func(r *pki.Revocation) { r.TLS = pki.FailHard }, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) { f.resp.SetDown(true) }, pki.UseTLSClient, pki.ErrRevocationCheck},
		{"responder down, seal configured soft", func(r *pki.Revocation) { r.Seal = pki.FailSoft }, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) { f.resp.SetDown(true) }, pki.UseSeal, nil},
		{"stale OCSP response (nextUpdate past)", nil, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) { f.resp.SetNextUpdate(-time.Hour) }, pki.UseSeal, pki.ErrRevocationCheck},
		{"stale CRL (nextUpdate past)", nil, crlOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) { f.resp.SetNextUpdate(-time.Hour) }, pki.UseSeal, pki.ErrRevocationCheck},
		{"OCSP signed by an unrelated key", nil, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) {
			stranger := testkit.NewCA(t, testkit.Cert{CN: "stranger", Country: "FR"})
			f.resp.SetSigner(stranger.Issue(t, testkit.Cert{CN: "ocsp", Country: "FR", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}))
		}, pki.UseSeal, pki.ErrRevocationCheck},
		{"OCSP signed by the issuer's delegated responder", nil, ocspOnly, func(t *testing.T, f *revFixture, l *pki.Credential) {
			f.resp.SetSigner(f.ca.Issue(t, testkit.Cert{CN: "ocsp", Country: "FR", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}))
			f.resp.Revoke(l.Cert.SerialNumber)
		}, pki.UseSeal, pki.ErrRevoked},
		{"OCSP delegated responder without id-kp-OCSPSigning", nil, ocspOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) {
			f.resp.SetSigner(f.ca.Issue(t, testkit.Cert{CN: "ocsp", Country: "FR", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}))
		}, pki.UseSeal, pki.ErrRevocationCheck},
		{"CRL signed by an unrelated CA", nil, crlOnly, func(t *testing.T, f *revFixture, _ *pki.Credential) {
			f.resp.SetCRLSigner(testkit.NewCA(t, testkit.Cert{CN: "FR NCP CA", Country: "FR"})) // same name, another key
		}, pki.UseSeal, pki.ErrRevocationCheck},
		{"OCSP signed by a stranger, CRL says revoked", nil, both, func(t *testing.T, f *revFixture, l *pki.Credential) {
			f.resp.SetSigner(testkit.NewCA(t, testkit.Cert{CN: "stranger", Country: "FR"}).Credential)
			f.resp.Revoke(l.Cert.SerialNumber)
		}, pki.UseSeal, pki.ErrRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRevFixture(t, tc.conf)
			leaf := f.leaf(t, tc.names&ocspOnly != 0, tc.names&crlOnly != 0)
			if tc.setup != nil {
				tc.setup(t, f, leaf)
			}
			err := f.verify(leaf, tc.use, clock.Now())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v; want %v", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			public := map[error]string{pki.ErrRevoked: "revoked", pki.ErrRevocationCheck: "revocation status unknown"}[tc.want]
			if !strings.Contains(pki.Reason(err), public) {
				t.Errorf("public text %q lacks %q", pki.Reason(err), public)
			}
		})
	}
}

// TestRevocationIntermediate: a revoked intermediate CA refuses the leaf
// it issued, although the leaf itself names no responder.
func TestRevocationIntermediate(t *testing.T) {
	f := newRevFixture(t, nil)
	sub := f.ca.Intermediate(t, testkit.Cert{CN: "FR issuing CA", Country: "FR", OCSP: f.resp.OCSPURL()})
	leaf := sub.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"})
	if err := f.verify(leaf, pki.UseSeal, clock.Now()); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	g := newRevFixture(t, nil)
	sub = g.ca.Intermediate(t, testkit.Cert{CN: "FR issuing CA", Country: "FR", OCSP: g.resp.OCSPURL()})
	g.resp.Revoke(sub.Cert.SerialNumber)
	if err := g.verify(sub.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"}), pki.UseSeal, clock.Now()); !errors.Is(err, pki.ErrRevoked) {
		t.Fatalf("revoked intermediate: %v", err)
	}
}

// TestRevocationCache: answers are cached until their nextUpdate (the
// responder is asked once for two verifications, and once for many at the
// same time), failures for a minute, and the cache stays bounded.
func TestRevocationCache(t *testing.T) {
	now := clock.Now()
	t.Run("two verifications, one request", func(t *testing.T) {
		f := newRevFixture(t, nil)
		leaf := f.leaf(t, true, true)
		for range 2 {
			if err := f.verify(leaf, pki.UseSeal, now); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.resp.OCSPCalls.Load(); n != 1 {
			t.Errorf("responder called %d times, want 1", n)
		}
		if n := f.resp.CRLCalls.Load(); n != 0 {
			t.Errorf("CRL fetched %d times although OCSP answered", n)
		}
		// Past nextUpdate (an hour), the responder is asked again.
		_ = f.verify(leaf, pki.UseTLSClient, now.Add(2*time.Hour))
		if n := f.resp.OCSPCalls.Load(); n != 2 {
			t.Errorf("after nextUpdate: responder called %d times, want 2", n)
		}
	})
	t.Run("concurrent verifications, one request", func(t *testing.T) {
		f := newRevFixture(t, nil)
		leaf := f.leaf(t, true, false)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = f.verify(leaf, pki.UseSeal, now) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := f.resp.OCSPCalls.Load(); n != 1 {
			t.Errorf("responder called %d times, want 1", n)
		}
	})
	t.Run("a failure is remembered", func(t *testing.T) {
		f := newRevFixture(t, nil)
		leaf := f.leaf(t, true, false)
		f.resp.SetDown(true)
		for range 3 {
			_ = f.verify(leaf, pki.UseTLSClient, now)
		}
		if n := f.resp.OCSPCalls.Load(); n != 1 {
			t.Errorf("down responder called %d times, want 1", n)
		}
		f.resp.SetDown(false)
		if err := f.verify(leaf, pki.UseSeal, now.Add(2*time.Minute)); err != nil {
			t.Errorf("after the responder is back: %v", err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		f := newRevFixture(t, func(r *pki.Revocation) { r.MaxCacheWeight = 2 })
		leaves := []*pki.Credential{f.leaf(t, true, false), f.leaf(t, true, false), f.leaf(t, true, false)}
		for range 2 {
			for _, l := range leaves {
				if err := f.verify(l, pki.UseSeal, now); err != nil {
					t.Fatal(err)
				}
			}
		}
		if n := f.resp.OCSPCalls.Load(); n <= 3 {
			t.Errorf("responder called %d times for 3 certificates with room for 2: nothing evicted", n)
		}
	})
}

func TestParseFailPolicy(t *testing.T) {
	for in, want := range map[string]pki.FailPolicy{"": "", "hard": pki.FailHard, " Soft ": pki.FailSoft} {
		if got, err := pki.ParseFailPolicy(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := pki.ParseFailPolicy("open"); err == nil {
		t.Error("open accepted")
	}
}
