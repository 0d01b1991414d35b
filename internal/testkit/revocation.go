package testkit

import (
	"crypto/rand"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
)

// Responder is a partner CA's revocation service as a test makes it, on
// loopback: an OCSP responder (POST OCSPURL) and its CRL (GET CRLURL),
// both answering from the same list of revoked serials.
type Responder struct {
	CA        *CA
	OCSPCalls atomic.Int64
	CRLCalls  atomic.Int64

	srv     *httptest.Server
	mu      sync.Mutex
	revoked map[string]*big.Int
	down    bool
	next    time.Duration
	signer  *pki.Credential
	crlCA   *pki.Credential
}

// NewResponder starts the revocation service of ca; responses are signed
// by ca and valid for an hour (see SetNextUpdate, SetSigner).
func NewResponder(t testing.TB, ca *CA) *Responder {
	t.Helper()
	r := &Responder{CA: ca, revoked: map[string]*big.Int{}, next: time.Hour}
	mux := http.NewServeMux()
	mux.Handle("POST /ocsp", r.serve(&r.OCSPCalls, "application/ocsp-response", r.ocsp))
	mux.Handle("GET /crl", r.serve(&r.CRLCalls, "application/pkix-crl", r.crl))
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// OCSPURL is the responder's address, for a certificate's AIA.
func (r *Responder) OCSPURL() string { return r.srv.URL + "/ocsp" }

// CRLURL is the CRL's address, for a certificate's CRL distribution point.
func (r *Responder) CRLURL() string { return r.srv.URL + "/crl" }

// Revoke puts serial on the list.
func (r *Responder) Revoke(serial *big.Int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[serial.Text(16)] = serial
}

// SetDown makes both services answer 503.
func (r *Responder) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// SetNextUpdate sets nextUpdate relative to now (negative: stale answers).
func (r *Responder) SetNextUpdate(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = d
}

// SetSigner makes OCSP responses signed by c (embedded in the response)
// instead of the CA: a delegated responder, or a stranger.
func (r *Responder) SetSigner(c *pki.Credential) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signer = c
}

// SetCRLSigner makes the CRL issued and signed by ca instead of the CA.
func (r *Responder) SetCRLSigner(ca *CA) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.crlCA = ca.Credential
}

func (r *Responder) state() (down bool, next time.Duration, signer *pki.Credential) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down, r.next, r.signer
}

// validity: thisUpdate a minute ago and nextUpdate after next, or for a
// stale answer (next < 0) an hour before its nextUpdate.
func validity(now time.Time, next time.Duration) (this, nextUpdate time.Time) {
	this = now.Add(-time.Minute)
	if next < 0 {
		this = now.Add(next - time.Hour)
	}
	return this, now.Add(next)
}

// serve counts the calls, answers 503 while down, and writes what answer
// makes (DER of type ctype) or its error.
func (r *Responder) serve(calls *atomic.Int64, ctype string, answer func(*http.Request, time.Duration, *pki.Credential) ([]byte, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		down, next, signer := r.state()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		der, err := answer(req, next, signer)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(der)
	}
}

func (r *Responder) ocsp(req *http.Request, next time.Duration, signer *pki.Credential) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	q, err := ocsp.ParseRequest(body)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	this, nextUpdate := validity(now, next)
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: q.SerialNumber, ThisUpdate: this, NextUpdate: nextUpdate}
	r.mu.Lock()
	if _, ok := r.revoked[q.SerialNumber.Text(16)]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, now.Add(-time.Hour), ocsp.KeyCompromise
	}
	r.mu.Unlock()
	responder, key := r.CA.Cert, r.CA.Signer
	if signer != nil {
		responder, key = signer.Cert, signer.Signer
		tmpl.Certificate = signer.Cert
	}
	return ocsp.CreateResponse(r.CA.Cert, responder, tmpl, key)
}

func (r *Responder) crl(_ *http.Request, next time.Duration, _ *pki.Credential) ([]byte, error) {
	now := clock.Now()
	this, nextUpdate := validity(now, next)
	tmpl := &x509.RevocationList{Number: big.NewInt(now.Unix()), ThisUpdate: this, NextUpdate: nextUpdate}
	r.mu.Lock()
	issuer := r.CA.Credential
	if r.crlCA != nil {
		issuer = r.crlCA
	}
	for _, sn := range r.revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: sn, RevocationTime: now.Add(-time.Hour)})
	}
	r.mu.Unlock()
	return x509.CreateRevocationList(rand.Reader, tmpl, issuer.Cert, issuer.Signer)
}
