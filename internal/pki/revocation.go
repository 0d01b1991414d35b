package pki

// Revocation checking of partner certificates: OCSP (RFC 6960, in the
// lightweight profile of RFC 5019) first, CRL (RFC 5280 §5, §6.3) as the
// fallback, for every certificate of a verified chain below its anchor that
// names a responder (authorityInfoAccess id-ad-ocsp) or a distribution
// point (cRLDistributionPoints). See docs/trust.md ("Revocation").

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/luxncp/luxncp/internal/clock"
)

// FailPolicy is what a role does with a certificate whose revocation
// status cannot be established (responder and CRL unreachable, stale or
// badly signed): hard refuses it, soft accepts it (and logs a warning).
// A certificate that is known to be revoked is refused under both.
type FailPolicy string

const (
	FailHard FailPolicy = "hard"
	FailSoft FailPolicy = "soft"
)

// ParseFailPolicy reads "hard" or "soft" ("" gives "", the role's default).
func ParseFailPolicy(s string) (FailPolicy, error) {
	switch p := FailPolicy(strings.ToLower(strings.TrimSpace(s))); p {
	case "", FailHard, FailSoft:
		return p, nil
	}
	return "", fmt.Errorf("revocation fail policy %q: want hard or soft", s)
}

// DefaultFailPolicy is hard for seals and soft for TLS. A seal authorises
// access to patient data and is what evidence rests on, so one that cannot
// be checked is refused. TLS only carries the request between gateways and
// every request is sealed again; refusing TLS whenever a partner CA's
// responder is down would cut a whole country off (docs/trust.md).
func DefaultFailPolicy(r Role) FailPolicy {
	if r == RoleSeal {
		return FailHard
	}
	return FailSoft
}

// Defaults of a Revocation checker.
const (
	DefaultRevocationTimeout = 5 * time.Second
	DefaultMaxOCSPBytes      = 64 << 10
	DefaultMaxCRLBytes       = 2 << 20
	// DefaultRevocationCacheWeight bounds the cache: an OCSP answer weighs
	// 1, a CRL 1 + its number of entries.
	DefaultRevocationCacheWeight = 200_000
	// DefaultUnknownTTL is how long a failed check is remembered, so that a
	// responder that is down costs one timeout per minute, not one per
	// request.
	DefaultUnknownTTL = time.Minute
	// DefaultMaxCacheAge caps how long an answer is cached, whatever its
	// nextUpdate says.
	DefaultMaxCacheAge = 24 * time.Hour
	// noNextUpdate: an answer without nextUpdate is fresh for this long
	// after its thisUpdate, and cached for at most this long.
	noNextUpdate = 5 * time.Minute
)

// Revocation checks verified chains against OCSP responders and CRLs and
// caches the answers until their nextUpdate. It is a RevocationChecker for
// TrustStore.Revocation; the zero value works (defaults above). Time comes
// from the caller (TrustStore.Verify's now).
type Revocation struct {
	// HTTP fetches responses and CRLs (nil: NewRevocationHTTPClient()).
	HTTP *http.Client
	// TLS and Seal are the fail policies per role ("": DefaultFailPolicy).
	TLS, Seal FailPolicy
	// Skew tolerated on thisUpdate / nextUpdate (0: 60s).
	Skew time.Duration
	// Timeout of one fetch (0: DefaultRevocationTimeout).
	Timeout time.Duration
	// MaxOCSPBytes and MaxCRLBytes cap response bodies (0: defaults).
	MaxOCSPBytes, MaxCRLBytes int64
	// MaxCacheWeight bounds the cache (0: DefaultRevocationCacheWeight).
	MaxCacheWeight int
	// UnknownTTL is how long a failed check is cached (0: DefaultUnknownTTL).
	UnknownTTL time.Duration
	// Log receives a warning when a status cannot be established (nil:
	// slog.Default()). Once per certificate and UnknownTTL.
	Log *slog.Logger

	once    sync.Once
	client  *http.Client
	mu      sync.Mutex
	cache   map[string]*answer
	weight  int
	flights map[string]*flight
}

var _ RevocationChecker = (*Revocation)(nil)

// NewRevocationHTTPClient is the client for responders and CRL servers:
// outside input, so short timeouts, no keep-alive pool to speak of, at
// most 3 redirects and only http(s).
func NewRevocationHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultRevocationTimeout
	}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, Time: clock.System()},
		TLSHandshakeTimeout:    2 * time.Second,
		ResponseHeaderTimeout:  timeout,
		MaxIdleConns:           8,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("more than 3 redirects")
		}
		return checkScheme(req.URL)
	}}
}

type certState int

const (
	stateUnknown certState = iota
	stateGood
	stateRevoked
)

// answer is one cached result: of an OCSP request (state, why) or of a
// CRL download (revoked serials; state unknown when it failed).
type answer struct {
	state   certState
	why     error
	revoked map[string]time.Time // CRL: serial (hex) → revocation time
	until   time.Time
}

func (a *answer) weight() int { return 1 + len(a.revoked) }

type flight struct {
	done chan struct{}
	a    *answer
}

// Check implements RevocationChecker: every certificate below the anchor
// that names a responder or a CRL is checked. A revoked one refuses the
// chain (ErrRevoked); one whose status is unknown refuses it under the
// role's hard policy (ErrRevocationCheck).
func (r *Revocation) Check(chain []*x509.Certificate, role Role, now time.Time) error {
	var unknown []error
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		if len(c.OCSPServer) == 0 && len(c.CRLDistributionPoints) == 0 {
			continue
		}
		switch st, why := r.status(c, issuer, now); st {
		case stateRevoked:
			return fmt.Errorf("%w: %s (serial %s): %v", ErrRevoked, c.Subject, c.SerialNumber.Text(16), why)
		case stateUnknown:
			unknown = append(unknown, fmt.Errorf("%s (serial %s): %w", c.Subject, c.SerialNumber.Text(16), why))
		}
	}
	if len(unknown) > 0 && r.policy(role) == FailHard {
		return fmt.Errorf("%w (%s policy hard): %w", ErrRevocationCheck, role, errors.Join(unknown...))
	}
	return nil
}

func (r *Revocation) policy(role Role) FailPolicy {
	p := r.TLS
	if role == RoleSeal {
		p = r.Seal
	}
	if p == "" {
		p = DefaultFailPolicy(role)
	}
	return p
}

// status asks the certificate's OCSP responders, then its CRLs, and
// returns the first definite answer.
func (r *Revocation) status(c, issuer *x509.Certificate, now time.Time) (certState, error) {
	serial := c.SerialNumber.Text(16)
	iss := issuerID(issuer)
	var errs []error
	for _, u := range c.OCSPServer {
		a := r.lookup("ocsp|"+iss+"|"+serial+"|"+u, now, func() *answer { return r.fetchOCSP(u, c, issuer, now) })
		if a.state != stateUnknown {
			return a.state, a.why
		}
		errs = append(errs, a.why)
	}
	for _, u := range c.CRLDistributionPoints {
		a := r.lookup("crl|"+iss+"|"+u, now, func() *answer { return r.fetchCRL(u, issuer, now) })
		if a.state == stateUnknown {
			errs = append(errs, a.why)
			continue
		}
		if at, ok := a.revoked[serial]; ok {
			return stateRevoked, fmt.Errorf("on the CRL at %s since %s", u, at.UTC().Format(time.RFC3339))
		}
		return stateGood, nil
	}
	return stateUnknown, errors.Join(errs...)
}

// issuerID names an issuer by its subject and key.
func issuerID(c *x509.Certificate) string {
	h := sha256.New()
	h.Write(c.RawSubject)
	h.Write(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h.Sum(nil))
}

// lookup returns the cached answer for key while it is current, or fetches
// it (once, however many callers ask at the same time) and caches it.
func (r *Revocation) lookup(key string, now time.Time, fetch func() *answer) *answer {
	r.mu.Lock()
	if a, ok := r.cache[key]; ok && now.Before(a.until) {
		r.mu.Unlock()
		return a
	}
	if f, ok := r.flights[key]; ok {
		r.mu.Unlock()
		<-f.done
		return f.a
	}
	if r.flights == nil {
		r.flights = map[string]*flight{}
		r.cache = map[string]*answer{}
	}
	f := &flight{done: make(chan struct{})}
	r.flights[key] = f
	r.mu.Unlock()

	f.a = fetch()
	if f.a.state == stateUnknown {
		f.a.until = now.Add(durationOr(r.UnknownTTL, DefaultUnknownTTL))
		r.logger().Warn("revocation status unknown", "key", key, "error", f.a.why.Error())
	} else if max := now.Add(DefaultMaxCacheAge); f.a.until.After(max) {
		f.a.until = max
	}
	r.mu.Lock()
	delete(r.flights, key)
	r.store(key, f.a, now)
	r.mu.Unlock()
	close(f.done)
	return f.a
}

// store caches a under key, evicting expired answers and then those that
// expire first until the cache fits its weight. Called with mu held.
func (r *Revocation) store(key string, a *answer, now time.Time) {
	max := r.MaxCacheWeight
	if max <= 0 {
		max = DefaultRevocationCacheWeight
	}
	if old, ok := r.cache[key]; ok {
		r.weight -= old.weight()
		delete(r.cache, key)
	}
	if a.weight() > max {
		return // larger than the whole cache: used once, not kept
	}
	for r.weight+a.weight() > max {
		victim := ""
		for k, e := range r.cache {
			if !now.Before(e.until) {
				victim = k
				break
			}
			if victim == "" || e.until.Before(r.cache[victim].until) {
				victim = k
			}
		}
		r.weight -= r.cache[victim].weight()
		delete(r.cache, victim)
	}
	r.cache[key] = a
	r.weight += a.weight()
}

func (r *Revocation) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func unknownf(format string, args ...any) *answer {
	return &answer{state: stateUnknown, why: fmt.Errorf(format, args...)}
}

// fetchOCSP asks the responder at u about c. The request carries no nonce
// (RFC 5019: responses are pre-produced and cacheable); freshness comes
// from thisUpdate / nextUpdate. The CertID uses SHA-1 as RFC 5019 requires
// of clients: it identifies, it does not sign.
func (r *Revocation) fetchOCSP(u string, c, issuer *x509.Certificate, now time.Time) *answer {
	req, err := ocsp.CreateRequest(c, issuer, nil)
	if err != nil {
		return unknownf("OCSP request: %w", err)
	}
	body, err := r.fetch(http.MethodPost, u, "application/ocsp-request", req, int64OrDefault(r.MaxOCSPBytes, DefaultMaxOCSPBytes))
	if err != nil {
		return unknownf("OCSP %s: %w", u, err)
	}
	resp, err := ocsp.ParseResponseForCert(body, c, nil)
	if err != nil {
		return unknownf("OCSP %s: %w", u, err)
	}
	if err := r.checkOCSPSigner(resp, issuer, now); err != nil {
		return unknownf("OCSP %s: %w", u, err)
	}
	until, err := r.fresh(resp.ThisUpdate, resp.NextUpdate, now)
	if err != nil {
		return unknownf("OCSP %s: %w", u, err)
	}
	switch resp.Status {
	case ocsp.Good:
		return &answer{state: stateGood, until: until}
	case ocsp.Revoked:
		return &answer{state: stateRevoked, until: until,
			why: fmt.Errorf("OCSP %s: revoked at %s (reason %d)", u, resp.RevokedAt.UTC().Format(time.RFC3339), resp.RevocationReason)}
	}
	return unknownf("OCSP %s: status unknown to the responder", u)
}

// checkOCSPSigner: the response is signed by the issuer itself, or by a
// delegated responder that the issuer certified for id-kp-OCSPSigning and
// that is valid now (RFC 6960 §4.2.2.2).
func (r *Revocation) checkOCSPSigner(resp *ocsp.Response, issuer *x509.Certificate, now time.Time) error {
	if !allowedSignature(resp.SignatureAlgorithm) {
		return fmt.Errorf("%w: response signed with %s", ErrWeakAlgorithm, resp.SignatureAlgorithm)
	}
	signer := issuer
	if rc := resp.Certificate; rc != nil && !rc.Equal(issuer) {
		if err := rc.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("delegated responder %s is not certified by the issuer: %w", rc.Subject, err)
		}
		if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return fmt.Errorf("delegated responder %s lacks id-kp-OCSPSigning", rc.Subject)
		}
		if now.Before(rc.NotBefore) || now.After(rc.NotAfter) {
			return fmt.Errorf("delegated responder %s is expired or not yet valid", rc.Subject)
		}
		if err := CheckAlgorithms(rc); err != nil {
			return fmt.Errorf("delegated responder: %w", err)
		}
		signer = rc
	}
	if err := resp.CheckSignatureFrom(signer); err != nil {
		return fmt.Errorf("response not signed by the issuer or its delegated responder: %w", err)
	}
	return nil
}

// fresh applies thisUpdate / nextUpdate with the skew and returns until
// when the answer may be cached.
func (r *Revocation) fresh(this, next, now time.Time) (time.Time, error) {
	skew := durationOr(r.Skew, 60*time.Second)
	if this.After(now.Add(skew)) {
		return time.Time{}, fmt.Errorf("thisUpdate %s is in the future", this.UTC().Format(time.RFC3339))
	}
	if next.IsZero() {
		next = this.Add(noNextUpdate)
		if max := now.Add(noNextUpdate); next.After(max) {
			next = max
		}
	}
	if !now.Before(next.Add(skew)) {
		return time.Time{}, fmt.Errorf("stale: nextUpdate %s has passed", next.UTC().Format(time.RFC3339))
	}
	if next.Before(now) {
		next = now.Add(skew) // within the skew: usable, briefly
	}
	return next, nil
}

var (
	oidDeltaCRLIndicator        = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// fetchCRL downloads the CRL at u and checks it is the issuer's (name and
// signature), complete and current.
func (r *Revocation) fetchCRL(u string, issuer *x509.Certificate, now time.Time) *answer {
	body, err := r.fetch(http.MethodGet, u, "", nil, int64OrDefault(r.MaxCRLBytes, DefaultMaxCRLBytes))
	if err != nil {
		return unknownf("CRL %s: %w", u, err)
	}
	rl, err := x509.ParseRevocationList(body)
	if err != nil {
		return unknownf("CRL %s: %w", u, err)
	}
	if !bytes.Equal(rl.RawIssuer, issuer.RawSubject) {
		return unknownf("CRL %s: issued by %s, not by the certificate's issuer", u, rl.Issuer)
	}
	if !allowedSignature(rl.SignatureAlgorithm) {
		return unknownf("CRL %s: %w: signed with %s", u, ErrWeakAlgorithm, rl.SignatureAlgorithm)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return unknownf("CRL %s: not signed by the issuer: %w", u, err)
	}
	for _, e := range rl.Extensions {
		// A delta CRL is not complete; other critical extensions are not
		// understood (RFC 5280 §5.2). The issuing distribution point is
		// accepted: the CRL is the one the certificate names.
		if e.Id.Equal(oidDeltaCRLIndicator) || (e.Critical && !e.Id.Equal(oidIssuingDistributionPoint)) {
			return unknownf("CRL %s: unsupported extension %s", u, e.Id)
		}
	}
	until, err := r.fresh(rl.ThisUpdate, rl.NextUpdate, now)
	if err != nil {
		return unknownf("CRL %s: %w", u, err)
	}
	a := &answer{state: stateGood, until: until, revoked: make(map[string]time.Time, len(rl.RevokedCertificateEntries))}
	for _, e := range rl.RevokedCertificateEntries {
		for _, x := range e.Extensions {
			if x.Critical {
				return unknownf("CRL %s: unsupported entry extension %s (indirect CRL?)", u, x.Id)
			}
		}
		a.revoked[e.SerialNumber.Text(16)] = e.RevocationTime
	}
	return a
}

func int64OrDefault(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q not supported (http or https only)", u.Scheme)
	}
	return nil
}

// fetch performs one bounded request: status 200, a body of at most limit
// bytes.
func (r *Revocation) fetch(method, raw, ctype string, body []byte, limit int64) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	r.once.Do(func() {
		r.client = r.HTTP
		if r.client == nil {
			r.client = NewRevocationHTTPClient(r.Timeout)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), durationOr(r.Timeout, DefaultRevocationTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("body of %d bytes exceeds %d", resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body exceeds %d bytes", limit)
	}
	return b, nil
}
