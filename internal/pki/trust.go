package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of certificate checks. Each is a cause a partner can act on, and
// Reason turns it into the public text of a fault.
var (
	ErrUntrusted       = errors.New("certificate does not chain to an anchor of the trust list")
	ErrExpired         = errors.New("certificate expired or not yet valid")
	ErrWrongRole       = errors.New("certificate is not trusted for this role")
	ErrCountryMismatch = errors.New("certificate country differs from its trust-list entry")
	ErrNoCountry       = errors.New("certificate subject has no country (C=)")
	ErrManyCountries   = errors.New("certificate subject has more than one country (C=)")
	ErrWeakAlgorithm   = errors.New("certificate algorithm or key size not allowed")
	ErrRevoked         = errors.New("certificate revoked")
	ErrRevocationCheck = errors.New("certificate revocation status cannot be checked")
	// ErrNoSignatureUsage is a certificate whose keyUsage does not allow
	// the signatures its role makes; it is a wrong-role error.
	ErrNoSignatureUsage = fmt.Errorf("%w: its key usage allows no digital signature", ErrWrongRole)
)

// ErrKeyUsage is the former name of ErrWrongRole.
var ErrKeyUsage = ErrWrongRole

// Reason is the public text for a certificate check error: the real cause,
// without the certificate's details.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrRevoked):
		return "is revoked"
	case errors.Is(err, ErrRevocationCheck):
		return "is refused: revocation status unknown (no valid OCSP response or CRL could be obtained)"
	case errors.Is(err, ErrExpired):
		return "is expired or not yet valid"
	case errors.Is(err, ErrWeakAlgorithm):
		return "uses an algorithm or key size that is not allowed (RSA >= 2048, ECDSA P-256+, no SHA-1)"
	case errors.Is(err, ErrCountryMismatch):
		return "does not belong to the country of its trust-list entry"
	case errors.Is(err, ErrNoCountry):
		return "has no country (C=) in its subject"
	case errors.Is(err, ErrManyCountries):
		return "has more than one country (C=) in its subject"
	case errors.Is(err, ErrNoSignatureUsage):
		return "is not trusted for this role (its key usage does not allow digital signatures)"
	case errors.Is(err, ErrWrongRole):
		return "is not trusted for this role (the trust list or its extended key usage gives it another)"
	}
	return "is not trusted (no chain to an anchor of the trust list)"
}

// Role is what a trust-list entry trusts a certificate for, as eHDSI
// distributes partner certificates: TLS (mutual TLS between gateways) or
// seal (signing assertions and documents).
type Role string

const (
	RoleTLS  Role = "tls"
	RoleSeal Role = "seal"
)

// Roles are the roles a trust list knows.
var Roles = []Role{RoleTLS, RoleSeal}

// Entry of a trust list: Cert (a partner CA, or the partner's certificate
// itself) is an anchor for Role, and what chains to it belongs to Country.
type Entry struct {
	Country string // ISO 3166 alpha-2, upper case
	Role    Role
	Cert    *x509.Certificate
	// Source names where the entry was read (file name), for listings.
	Source string
}

// Anchors lists cert as an anchor of every role for each country: the
// development PKI's single CA, or a test's.
func Anchors(cert *x509.Certificate, countries ...string) []Entry {
	var out []Entry
	for _, cc := range countries {
		for _, r := range Roles {
			out = append(out, Entry{Country: strings.ToUpper(cc), Role: r, Cert: cert})
		}
	}
	return out
}

// AnchorsOf lists every cert as an anchor of every role for each country.
func AnchorsOf(certs []*x509.Certificate, countries ...string) []Entry {
	var out []Entry
	for _, c := range certs {
		out = append(out, Anchors(c, countries...)...)
	}
	return out
}

// trustSet is one loaded version of the trust list.
type trustSet struct {
	entries []Entry
	// pools: role → country → anchors; all: role → every anchor.
	pools map[Role]map[string]*x509.CertPool
	all   map[Role]*x509.CertPool
	// gen changes with every load (for caches of verified certificates).
	gen uint64
}

var generation atomic.Uint64

func newSet(entries []Entry) *trustSet {
	s := &trustSet{entries: entries, pools: map[Role]map[string]*x509.CertPool{}, all: map[Role]*x509.CertPool{}, gen: generation.Add(1)}
	for _, e := range entries {
		if s.pools[e.Role] == nil {
			s.pools[e.Role] = map[string]*x509.CertPool{}
			s.all[e.Role] = x509.NewCertPool()
		}
		p := s.pools[e.Role][e.Country]
		if p == nil {
			p = x509.NewCertPool()
			s.pools[e.Role][e.Country] = p
		}
		p.AddCert(e.Cert)
		s.all[e.Role].AddCert(e.Cert)
	}
	return s
}

// TrustSource gives the current trust list. Load returns the entries and
// their version; when the version equals since it may return nil entries
// (unchanged).
type TrustSource interface {
	Load(ctx context.Context, since string) (entries []Entry, version string, err error)
}

// TrustStore decides which partner certificates luxncp accepts: the trust
// list, per country and role. With a Source it reloads the list when it
// changes (checked at most every Refresh), without a restart.
type TrustStore struct {
	set atomic.Pointer[trustSet]

	src     TrustSource
	refresh time.Duration
	mu      sync.Mutex // one reload at a time
	checked atomic.Int64
	version string
	failure atomic.Pointer[reloadFailure]
	// failures counts failed reloads since the store was opened.
	failures atomic.Uint64

	// Log receives an error for every failed reload (with the file and the
	// cause) and a line for every list loaded (nil: slog.Default()).
	Log *slog.Logger

	// Revocation, when set, is asked about every verified chain (OCSP /
	// CRL, see Revocation); nil: no revocation checking.
	Revocation RevocationChecker
}

// RevocationChecker checks a verified chain (leaf first, anchor last) for
// role at now.
type RevocationChecker interface {
	Check(chain []*x509.Certificate, role Role, now time.Time) error
}

// NewTrustStore trusts the given entries (a fixed list).
func NewTrustStore(entries ...Entry) *TrustStore {
	ts := &TrustStore{}
	ts.set.Store(newSet(entries))
	return ts
}

// DefaultRefresh is how often a TrustStore with a source checks it.
const DefaultRefresh = 30 * time.Second

// OpenTrustStore loads the trust list from src and keeps it current:
// checked at most every refresh (0: DefaultRefresh) when certificates are
// verified. A failing reload keeps the last good list (see Err).
func OpenTrustStore(ctx context.Context, src TrustSource, refresh time.Duration, now time.Time) (*TrustStore, error) {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	entries, version, err := src.Load(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("trust list: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("trust list: no entries")
	}
	ts := &TrustStore{src: src, refresh: refresh, version: version}
	ts.set.Store(newSet(entries))
	ts.checked.Store(now.UnixNano())
	return ts, nil
}

// LoadTrustStore opens the trust list at path (a file or a folder, see
// LoadTrustList), reloaded when it changes.
func LoadTrustStore(path string) (*TrustStore, error) {
	return OpenTrustStore(context.Background(), FileSource{Path: path}, 0, time.Unix(0, 0))
}

// Reload checks the source now and reports whether the list changed.
func (ts *TrustStore) Reload(ctx context.Context, now time.Time) (bool, error) {
	if ts.src == nil {
		return false, nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.reloadLocked(ctx, now)
}

// reloadFailure is the state of a store whose reloads fail: the last
// error, and since when they have been failing.
type reloadFailure struct {
	err   error
	since time.Time
}

func (ts *TrustStore) reloadLocked(ctx context.Context, now time.Time) (bool, error) {
	ts.checked.Store(now.UnixNano())
	entries, version, err := ts.src.Load(ctx, ts.version)
	if err == nil && version != ts.version && len(entries) == 0 {
		err = errors.New("trust list: no entries")
	}
	prev := ts.failure.Load()
	if err != nil {
		// Keeping the last good list is right (a typo must not cut every
		// partner off), but never silently: the list in force may still
		// hold a CA the operator meant to remove (docs/trust.md).
		err = fmt.Errorf("trust list reload (keeping the last good list): %w", err)
		f := &reloadFailure{err: err, since: now}
		if prev != nil {
			f.since = prev.since
		}
		ts.failure.Store(f)
		n := ts.failures.Add(1)
		file := ""
		var fe *TrustFileError
		if errors.As(err, &fe) {
			file = fe.File
		}
		ts.logger().ErrorContext(ctx, "trust list reload failed: the last good list stays in force, changes (removals too) are NOT applied",
			"component", "trust", "file", file, "cause", err.Error(), "failing_since", f.since, "failures", n, "generation", ts.set.Load().gen)
		return false, err
	}
	ts.failure.Store(nil)
	if version == ts.version {
		if prev != nil {
			ts.logger().InfoContext(ctx, "trust list reload works again (unchanged list)", "component", "trust", "failing_since", prev.since)
		}
		return false, nil
	}
	ts.version = version
	set := newSet(entries)
	ts.set.Store(set)
	ts.logger().InfoContext(ctx, "trust list loaded", "component", "trust", "entries", len(entries), "generation", set.gen)
	return true, nil
}

func (ts *TrustStore) logger() *slog.Logger {
	if ts.Log != nil {
		return ts.Log
	}
	return slog.Default()
}

// Err is the error of the last reload (nil when it succeeded).
func (ts *TrustStore) Err() error {
	if f := ts.failure.Load(); f != nil {
		return f.err
	}
	return nil
}

// TrustStatus is the state of a trust store, for health checks and
// metrics.
type TrustStatus struct {
	// Entries and Generation describe the list in force.
	Entries    int
	Generation uint64
	// Err is the error of the last reload (nil: it succeeded); while it is
	// set the list in force is the last good one, not what the source
	// holds. FailingSince is when the reloads started failing.
	Err          error
	FailingSince time.Time
	// Failures counts the failed reloads since the store was opened.
	Failures uint64
}

// Status returns the store's state without reloading.
func (ts *TrustStore) Status() TrustStatus {
	set := ts.set.Load()
	st := TrustStatus{Entries: len(set.entries), Generation: set.gen, Failures: ts.failures.Load()}
	if f := ts.failure.Load(); f != nil {
		st.Err, st.FailingSince = f.err, f.since
	}
	return st
}

// Check reloads the list when due (as a verification would) and returns
// the store's state: a health check sees a broken source even when no
// partner is calling.
func (ts *TrustStore) Check(now time.Time) TrustStatus {
	ts.current(now)
	return ts.Status()
}

// current returns the list, reloading it first when due. Only one caller
// reloads; the others go on with the list they have.
func (ts *TrustStore) current(now time.Time) *trustSet {
	if ts.src != nil {
		last := ts.checked.Load()
		if d := now.UnixNano() - last; (d >= int64(ts.refresh) || d < 0) && ts.mu.TryLock() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = ts.reloadLocked(ctx, now)
			cancel()
			ts.mu.Unlock()
		}
	}
	return ts.set.Load()
}

// Generation identifies the loaded list (it changes on reload).
func (ts *TrustStore) Generation() uint64 { return ts.set.Load().gen }

// Entries returns the loaded list.
func (ts *TrustStore) Entries() []Entry { return slices.Clone(ts.set.Load().entries) }

// Pool returns every TLS anchor, e.g. for a tls.Config's RootCAs.
func (ts *TrustStore) Pool() *x509.CertPool {
	if p := ts.set.Load().all[RoleTLS]; p != nil {
		return p
	}
	return x509.NewCertPool()
}

// CAs returns the anchors of every entry.
func (ts *TrustStore) CAs() []*x509.Certificate {
	var out []*x509.Certificate
	for _, e := range ts.set.Load().entries {
		out = append(out, e.Cert)
	}
	return out
}

// Use is what a certificate is being checked for.
type Use int

const (
	UseTLSClient Use = iota
	UseTLSServer
	UseSeal
)

// Role is the trust-list role of a use.
func (u Use) Role() Role {
	if u == UseSeal {
		return RoleSeal
	}
	return RoleTLS
}

// Verify checks cert (with optional intermediates) at time now for a use
// and returns its country: the country of the trust-list entry whose
// anchor the chain ends at, which the leaf's C= must agree with.
func (ts *TrustStore) Verify(cert *x509.Certificate, intermediates []*x509.Certificate, now time.Time, use Use) (country string, err error) {
	if cert == nil {
		return "", ErrUntrusted
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return "", fmt.Errorf("%w: valid %s to %s", ErrExpired, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := CheckAlgorithms(cert); err != nil {
		return "", err
	}
	role := use.Role()
	if err := checkUsage(cert, use); err != nil {
		return "", err
	}
	set := ts.current(now)
	pool := x509.NewCertPool()
	for _, ic := range intermediates {
		pool.AddCert(ic)
	}
	// EKU is judged by checkUsage on the leaf (the list gives the role);
	// the chain must only end at an anchor of the leaf's country and role.
	opts := x509.VerifyOptions{Intermediates: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	claimed, cerr := Country(cert)
	if cerr == nil {
		if roots := set.pools[role][claimed]; roots != nil {
			opts.Roots = roots
			chains, err := cert.Verify(opts)
			if err == nil {
				if err := checkChains(chains); err != nil {
					return "", err
				}
				if ts.Revocation != nil {
					if err := ts.Revocation.Check(chains[0], role, now); err != nil {
						return "", err
					}
				}
				return claimed, nil
			}
			var inv x509.CertificateInvalidError
			if errors.As(err, &inv) && inv.Reason == x509.Expired {
				return "", fmt.Errorf("%w: %v", ErrExpired, err)
			}
			var ins x509.InsecureAlgorithmError
			if errors.As(err, &ins) {
				return "", fmt.Errorf("%w: %v", ErrWeakAlgorithm, err)
			}
		}
	}
	// Refused: find the real cause for the fault.
	for cc, roots := range set.pools[role] {
		opts.Roots = roots
		if _, err := cert.Verify(opts); err == nil {
			if cerr != nil {
				return "", fmt.Errorf("%w (chains to an anchor listed for %s)", cerr, cc)
			}
			return "", fmt.Errorf("%w: C=%s, chains to an anchor listed for %s", ErrCountryMismatch, claimed, cc)
		}
	}
	for r, byCountry := range set.pools {
		if r == role {
			continue
		}
		for cc, roots := range byCountry {
			opts.Roots = roots
			if _, err := cert.Verify(opts); err == nil {
				return "", fmt.Errorf("%w: listed as %s for %s, used as %s", ErrWrongRole, r, cc, role)
			}
		}
	}
	if cerr != nil {
		return "", cerr
	}
	return "", fmt.Errorf("%w: no %s anchor for %s", ErrUntrusted, role, claimed)
}

// oidDocumentSigning is id-kp-documentSigning (RFC 9336).
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// checkUsage applies RFC 5280: a certificate without extendedKeyUsage may
// serve any purpose (the trust list gives it its role); one with the
// extension serves only the purposes listed there. keyUsage, when present,
// must allow the signatures of the role: digitalSignature for TLS (the
// handshake signs with the key), digitalSignature or contentCommitment
// (non-repudiation) for seals. keyEncipherment alone is not a signature.
func checkUsage(cert *x509.Certificate, use Use) error {
	if cert.KeyUsage != 0 {
		want := x509.KeyUsageDigitalSignature
		if use == UseSeal {
			want |= x509.KeyUsageContentCommitment
		}
		if cert.KeyUsage&want == 0 {
			return fmt.Errorf("%w (key usage %#x, used as %s)", ErrNoSignatureUsage, int(cert.KeyUsage), use.Role())
		}
	}
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return nil
	}
	ok := func(want ...x509.ExtKeyUsage) bool {
		for _, u := range cert.ExtKeyUsage {
			if u == x509.ExtKeyUsageAny || slices.Contains(want, u) {
				return true
			}
		}
		return false
	}
	switch use {
	case UseTLSClient:
		if ok(x509.ExtKeyUsageClientAuth) {
			return nil
		}
	case UseTLSServer:
		if ok(x509.ExtKeyUsageServerAuth) {
			return nil
		}
	case UseSeal:
		if ok(x509.ExtKeyUsageEmailProtection) {
			return nil
		}
		for _, o := range cert.UnknownExtKeyUsage {
			if o.Equal(oidDocumentSigning) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: its extended key usage excludes %s", ErrWrongRole, map[Use]string{UseTLSClient: "TLS client", UseTLSServer: "TLS server", UseSeal: "signing"}[use])
}

// checkChains applies the algorithm allow-list to the certificates of a
// verified chain below the anchor (the anchor's own signature is not
// relied on) and to every key.
func checkChains(chains [][]*x509.Certificate) error {
	chain := chains[0]
	for i, c := range chain {
		if i == len(chain)-1 {
			if err := checkKey(c); err != nil {
				return err
			}
			continue
		}
		if err := CheckAlgorithms(c); err != nil {
			return err
		}
	}
	return nil
}

// CheckAlgorithms applies the allow-list to one certificate: RSA keys of
// at least 2048 bits or ECDSA P-256/384/521, and a
// signature with SHA-256 or stronger. A chain's anchor is held to the key
// rule only: its own signature is not relied on.
func CheckAlgorithms(c *x509.Certificate) error {
	if err := checkKey(c); err != nil {
		return err
	}
	if allowedSignature(c.SignatureAlgorithm) {
		return nil
	}
	return fmt.Errorf("%w: signature %s", ErrWeakAlgorithm, c.SignatureAlgorithm)
}

// allowedSignature is the allow-list of signature algorithms (certificates,
// OCSP responses, CRLs): RSA, RSA-PSS or ECDSA with SHA-256 or stronger.
func allowedSignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		return true
	}
	return false
}

func checkKey(c *x509.Certificate) error {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%w: RSA key of %d bits", ErrWeakAlgorithm, k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("%w: curve %s", ErrWeakAlgorithm, k.Curve.Params().Name)
		}
	default:
		return fmt.Errorf("%w: key type %T", ErrWeakAlgorithm, c.PublicKey)
	}
	return nil
}

// Country returns the subject's country (C=), upper case. A subject with
// several C= values names no single country and is refused as such.
func Country(cert *x509.Certificate) (string, error) {
	if len(cert.Subject.Country) > 1 {
		return "", fmt.Errorf("%w: %s", ErrManyCountries, strings.Join(cert.Subject.Country, ", "))
	}
	if len(cert.Subject.Country) != 1 || len(cert.Subject.Country[0]) != 2 {
		return "", ErrNoCountry
	}
	return strings.ToUpper(cert.Subject.Country[0]), nil
}
