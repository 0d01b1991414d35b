package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
)

// Config of a node. Every field has a working default; FromEnv reads the
// LUXNCP_* variables.
type Config struct {
	StateDir string // LUXNCP_STATE_DIR, default ./var
	PKIDir   string // LUXNCP_PKI_DIR, default <state>/pki
	// TrustBundle: the trust list (docs/trust.md), a file or a folder: per
	// partner country, the TLS and seal certificates or CAs accepted, each
	// with its role. Reloaded when it changes. LUXNCP_TRUST_BUNDLE, default
	// <pki>/trust.
	TrustBundle string
	// SealCountry: the country whose seal signs luxncp's own assertions
	// (Country B) — "lu".
	Country         string // LUXNCP_COUNTRY, default LU
	HomeCommunityID string // LUXNCP_HOME_COMMUNITY_ID
	// NationalURL is the FHIR base of the national system.
	// LUXNCP_NATIONAL_URL, default http://127.0.0.1:8081/fhir (the demo backend).
	NationalURL     string
	NationalTimeout time.Duration // LUXNCP_NATIONAL_TIMEOUT, default 5s
	MaxBody         int64         // LUXNCP_MAX_BODY bytes, default 10 MiB
	AuditDir        string        // LUXNCP_AUDIT_DIR, default <state>/audit
	// EvidenceDir holds the signed non-repudiation evidence, beside the
	// audit trail (LUXNCP_EVIDENCE_DIR, default <state>/evidence).
	EvidenceDir string
	LogLevel    string // LUXNCP_LOG_LEVEL: debug | info | warn | error
	// ClockSkew tolerated on assertion times. LUXNCP_CLOCK_SKEW, default 60s.
	ClockSkew time.Duration
	// NoAssertionCache turns off the cache of validated SAML assertions
	// (wssec.Verifier.NoAssertionCache): every assertion's XML signature
	// is validated in full on every request. LUXNCP_ASSERTION_CACHE=off;
	// default on.
	NoAssertionCache bool
	// MaxInFlight bounds the Country A requests read, parsed or served at
	// once (LUXNCP_MAX_INFLIGHT, default 32): beyond it, 503 with
	// Retry-After. With MaxBody it bounds the bodies in memory.
	MaxInFlight int
	// MaxBodyMemory bounds the Country A request bodies held in memory at
	// once, in bytes (LUXNCP_MAX_BODY_MEMORY, default 64 MiB): reserved by
	// the declared Content-Length before the body is read (or as it is
	// read); beyond it, 503 with Retry-After.
	MaxBodyMemory int64
	// ReplayMax bounds the MessageIDs the local replay guard holds
	// (LUXNCP_REPLAY_MAX, default gateway.DefaultReplayMax): a full guard
	// refuses new messages rather than forget an id whose assertion is
	// still valid. Size it to the peak requests a second times the
	// partners' assertion lifetime; ≈ 30–60 bytes of memory an id.
	ReplayMax int
	// CountryShare is the fraction of MaxInFlight and of MaxBodyMemory one
	// partner country may hold at once (LUXNCP_COUNTRY_SHARE, default 0.5;
	// 1: no per-country bound), so that one partner cannot starve the
	// others.
	CountryShare float64
	// RateLimit is the requests per second each partner country may send
	// to Country A (LUXNCP_RATE_LIMIT, default 0: no limit), in bursts of
	// twice that: beyond it, 429 with Retry-After.
	RateLimit float64
	// TrustRefresh is how often the trust list is checked for changes
	// (LUXNCP_TRUST_REFRESH, default 30s).
	TrustRefresh time.Duration
	// RevocationTLS and RevocationSeal: what a partner certificate whose
	// revocation status cannot be established (OCSP and CRL unreachable or
	// stale) gets, per role: hard refuses, soft accepts
	// (LUXNCP_REVOCATION_TLS, default soft; LUXNCP_REVOCATION_SEAL,
	// default hard; docs/trust.md). A revoked certificate is always refused.
	RevocationTLS, RevocationSeal pki.FailPolicy
	// DirectoryFile is the country directory for Country B
	// (LUXNCP_DIRECTORY, default <state>/directory.json; missing: Country B off).
	DirectoryFile string
	// Dynamic discovery (see docs/discovery.md). SMLZone turns it on: the
	// SML DNS zone (LUXNCP_SML_ZONE); SMLServer is the DNS server to ask,
	// host:port (LUXNCP_SML_DNS, default: the system resolver);
	// DiscoveryCountries the partners discovered (LUXNCP_DISCOVERY_COUNTRIES,
	// comma-separated, default BE,DE,FR,NL,PT); SMPSigners a PEM file of SMP
	// signing certificates accepted for any participant (LUXNCP_SMP_SIGNERS);
	// DiscoveryRefresh the refresh period (LUXNCP_DISCOVERY_REFRESH, default
	// 1h). With discovery, <state>/directory.json is the cache of the last
	// good result and LUXNCP_DIRECTORY, when set, an override.
	SMLZone, SMLServer string
	DiscoveryCountries []string
	SMPSigners         string
	DiscoveryRefresh   time.Duration
	// IDIssuer is the national identity provider (OpenID Connect issuer
	// URL) whose tokens name the people behind /api/v1 calls
	// (LUXNCP_ID_ISSUER; empty: every such call is refused).
	IDIssuer string
	// IDAudience: the audience luxncp's tokens carry (LUXNCP_ID_AUDIENCE,
	// default luxncp).
	IDAudience string
	// IDACR: the acr values that prove a multi-factor login
	// (LUXNCP_ID_ACR, comma-separated; default the eIDAS levels
	// substantial and high).
	IDACR []string
	// APICallers: JSON file of which calling systems may act for which
	// organisations (LUXNCP_API_CALLERS, default <state>/api-callers.json;
	// missing: none may).
	APICallers string
	// OutboxHorizon is how long an acknowledged eDispensation keeps being
	// retried through transient national failures before it becomes a
	// dead letter. LUXNCP_OUTBOX_HORIZON_DAYS, default 30 days.
	OutboxHorizon time.Duration
	// OutboxMaxBackoff caps the wait between two delivery attempts of a
	// message (LUXNCP_OUTBOX_MAX_BACKOFF, default 10m): how long after a
	// national outage ends the last pending message may still wait.
	OutboxMaxBackoff time.Duration
}

// Defaults fills empty fields.
func (c Config) Defaults() Config {
	if c.StateDir == "" {
		c.StateDir = "var"
	}
	if c.PKIDir == "" {
		c.PKIDir = filepath.Join(c.StateDir, "pki")
	}
	if c.TrustBundle == "" {
		c.TrustBundle = filepath.Join(c.PKIDir, "trust")
	}
	if c.Country == "" {
		c.Country = "LU"
	}
	if c.HomeCommunityID == "" {
		c.HomeCommunityID = ehdsi.HomeCommunityLU
	}
	if c.NationalURL == "" {
		c.NationalURL = "http://127.0.0.1:8081/fhir"
	}
	if c.NationalTimeout == 0 {
		c.NationalTimeout = 5 * time.Second
	}
	if c.MaxBody == 0 {
		c.MaxBody = 10 << 20
	}
	if c.AuditDir == "" {
		c.AuditDir = filepath.Join(c.StateDir, "audit")
	}
	if c.EvidenceDir == "" {
		c.EvidenceDir = filepath.Join(c.StateDir, "evidence")
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 60 * time.Second
	}
	if len(c.DiscoveryCountries) == 0 {
		c.DiscoveryCountries = []string{"BE", "DE", "FR", "NL", "PT"}
	}
	if c.DiscoveryRefresh == 0 {
		c.DiscoveryRefresh = time.Hour
	}
	if c.IDAudience == "" {
		c.IDAudience = idtoken.DevAudience
	}
	if c.APICallers == "" {
		c.APICallers = filepath.Join(c.StateDir, "api-callers.json")
	}
	if c.OutboxHorizon == 0 {
		c.OutboxHorizon = outbox.DefaultHorizon
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = gateway.DefaultMaxInFlight
	}
	if c.MaxBodyMemory == 0 {
		c.MaxBodyMemory = gateway.DefaultMaxBodyMemory
	}
	if c.CountryShare == 0 {
		c.CountryShare = gateway.DefaultCountryShare
	}
	if c.TrustRefresh == 0 {
		c.TrustRefresh = 30 * time.Second
	}
	if c.RevocationTLS == "" {
		c.RevocationTLS = pki.DefaultFailPolicy(pki.RoleTLS)
	}
	if c.RevocationSeal == "" {
		c.RevocationSeal = pki.DefaultFailPolicy(pki.RoleSeal)
	}
	return c
}

// FromEnv reads the configuration from LUXNCP_* variables (getenv nil:
// os.Getenv), with defaults for what is unset.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{
		StateDir:        getenv("LUXNCP_STATE_DIR"),
		PKIDir:          getenv("LUXNCP_PKI_DIR"),
		TrustBundle:     getenv("LUXNCP_TRUST_BUNDLE"),
		Country:         getenv("LUXNCP_COUNTRY"),
		HomeCommunityID: getenv("LUXNCP_HOME_COMMUNITY_ID"),
		NationalURL:     getenv("LUXNCP_NATIONAL_URL"),
		AuditDir:        getenv("LUXNCP_AUDIT_DIR"),
		EvidenceDir:     getenv("LUXNCP_EVIDENCE_DIR"),
		LogLevel:        getenv("LUXNCP_LOG_LEVEL"),
		DirectoryFile:   getenv("LUXNCP_DIRECTORY"),
		SMLZone:         getenv("LUXNCP_SML_ZONE"),
		SMLServer:       getenv("LUXNCP_SML_DNS"),
		SMPSigners:      getenv("LUXNCP_SMP_SIGNERS"),
		IDIssuer:        getenv("LUXNCP_ID_ISSUER"),
		IDAudience:      getenv("LUXNCP_ID_AUDIENCE"),
		APICallers:      getenv("LUXNCP_API_CALLERS"),
	}
	for _, cc := range strings.Split(getenv("LUXNCP_DISCOVERY_COUNTRIES"), ",") {
		if cc = strings.ToUpper(strings.TrimSpace(cc)); cc != "" {
			c.DiscoveryCountries = append(c.DiscoveryCountries, cc)
		}
	}
	for _, v := range strings.Split(getenv("LUXNCP_ID_ACR"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			c.IDACR = append(c.IDACR, v)
		}
	}
	var err error
	if _, err = clock.Offset(); err != nil {
		return c, err // a drill meant to run shifted must not run unshifted
	}
	if c.NationalTimeout, err = envDuration(getenv, "LUXNCP_NATIONAL_TIMEOUT"); err != nil {
		return c, err
	}
	if c.ClockSkew, err = envDuration(getenv, "LUXNCP_CLOCK_SKEW"); err != nil {
		return c, err
	}
	if c.DiscoveryRefresh, err = envDuration(getenv, "LUXNCP_DISCOVERY_REFRESH"); err != nil {
		return c, err
	}
	if v := getenv("LUXNCP_OUTBOX_HORIZON_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("LUXNCP_OUTBOX_HORIZON_DAYS: %q is not a positive number of days", v)
		}
		c.OutboxHorizon = time.Duration(n) * 24 * time.Hour
	}
	if c.OutboxMaxBackoff, err = envDuration(getenv, "LUXNCP_OUTBOX_MAX_BACKOFF"); err != nil {
		return c, err
	}
	if c.TrustRefresh, err = envDuration(getenv, "LUXNCP_TRUST_REFRESH"); err != nil {
		return c, err
	}
	if c.RevocationTLS, err = pki.ParseFailPolicy(getenv("LUXNCP_REVOCATION_TLS")); err != nil {
		return c, fmt.Errorf("LUXNCP_REVOCATION_TLS: %w", err)
	}
	if c.RevocationSeal, err = pki.ParseFailPolicy(getenv("LUXNCP_REVOCATION_SEAL")); err != nil {
		return c, fmt.Errorf("LUXNCP_REVOCATION_SEAL: %w", err)
	}
	if v := getenv("LUXNCP_MAX_INFLIGHT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("LUXNCP_MAX_INFLIGHT: %q is not a positive number", v)
		}
		c.MaxInFlight = n
	}
	if v := getenv("LUXNCP_REPLAY_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("LUXNCP_REPLAY_MAX: %q is not a positive number", v)
		}
		c.ReplayMax = n
	}
	if v := getenv("LUXNCP_MAX_BODY_MEMORY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("LUXNCP_MAX_BODY_MEMORY: %q is not a positive number of bytes", v)
		}
		c.MaxBodyMemory = n
	}
	if v := getenv("LUXNCP_COUNTRY_SHARE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			return c, fmt.Errorf("LUXNCP_COUNTRY_SHARE: %q is not a fraction above 0 and at most 1", v)
		}
		c.CountryShare = f
	}
	if v := getenv("LUXNCP_RATE_LIMIT"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 {
			return c, fmt.Errorf("LUXNCP_RATE_LIMIT: %q is not a number of requests per second", v)
		}
		c.RateLimit = r
	}
	switch v := getenv("LUXNCP_ASSERTION_CACHE"); v {
	case "", "on":
	case "off":
		c.NoAssertionCache = true
	default:
		return c, fmt.Errorf("LUXNCP_ASSERTION_CACHE: %q is neither on nor off", v)
	}
	if v := getenv("LUXNCP_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("LUXNCP_MAX_BODY: %q is not a positive number of bytes", v)
		}
		c.MaxBody = n
	}
	return c.Defaults(), nil
}

func envDuration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration (e.g. 5s)", name, v)
	}
	return d, nil
}
