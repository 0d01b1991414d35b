package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/reqlog"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/countryb"
	"github.com/luxncp/luxncp/internal/discovery"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/evidence"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/lurecords"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
	"github.com/luxncp/luxncp/internal/xcpd"
	"github.com/luxncp/luxncp/internal/xdr"
)

// Node is an assembled gateway.
type Node struct {
	Cfg      Config
	Log      *slog.Logger
	Trust    *pki.TrustStore
	National national.Source
	Recorder *audit.Recorder
	Gateway  *gateway.Config
	Terms    *terminology.Catalogue
	Outbox   outbox.Store
	// Kick wakes the local dispatcher after an eDispensation is accepted.
	Kick chan struct{}
	// CountryB is the /api/v1 API for Luxembourg's software (nil when no
	// country directory is configured).
	CountryB *countryb.Service
	// Discovery is Country B's directory when it comes from SML/SMP
	// (LUXNCP_SML_ZONE set); the host refreshes it on a schedule.
	Discovery *discovery.Directory

	// tel observes transactions, deliveries and Country B calls (nil: off).
	tel *telemetry.Telemetry

	// AuditReader serves the patient access log (nil: unavailable here).
	AuditReader audit.PatientReader
	// Tokens verifies the national identity provider's tokens on /api/v1
	// (nil: none configured, every call refused).
	Tokens countryb.TokenVerifier

	endpoints map[string]http.Handler
	closers   []func() error
}

// Options inject what differs between hosts and tests.
type Options struct {
	// National overrides the FHIR client (tests).
	National national.Source
	// AuditSink overrides the local hash-chained files (AWS: S3).
	AuditSink audit.Sink
	// AuditReader reads the access log from where AuditSink writes (AWS:
	// the S3 sink's per-patient keys). Nil with the local chain: the chain's
	// own index. Nil with another sink: the access log answers 503, never
	// an empty log read from the wrong place.
	AuditReader audit.PatientReader
	// Outbox overrides the local fsync'd outbox (AWS: DynamoDB + SQS).
	Outbox outbox.Store
	// CountryB overrides Country B's edges.
	CountryB CountryBOptions
	// Replay overrides the local file-backed replay guard (AWS: DynamoDB,
	// shared by every instance).
	Replay gateway.ReplayGuard
	// Tokens overrides the national identity tokens' verifier (tests).
	Tokens countryb.TokenVerifier
	// TrustSource overrides the trust list at cfg.TrustBundle (AWS: the
	// configuration bucket's object).
	TrustSource pki.TrustSource
	// Evidence overrides the local evidence files (AWS: S3 Object Lock);
	// EvidenceSeal the seal that signs evidence (AWS: KMS; default: the
	// file seal of the PKI directory).
	Evidence     evidence.Store
	EvidenceSeal *wssec.Signer
	// NoEvidence: the host serves no transaction that gets evidence (a
	// Lambda function other than xca and xdr): no emitter, and no alarm
	// about a missing seal.
	NoEvidence bool
	// Now is the clock (nil: the system clock).
	Now func() time.Time
	// Telemetry, when set, observes transactions, national calls and the
	// outbox, and exports the node's gauges (internal/telemetry).
	Telemetry *telemetry.Telemetry
}

// New builds a node. Close releases what it opened.
func New(cfg Config, log *slog.Logger, opt Options) (*Node, error) {
	cfg = cfg.Defaults()
	if log == nil {
		log = slog.Default()
	}
	n := &Node{Cfg: cfg, Log: log, endpoints: map[string]http.Handler{}}
	src := opt.TrustSource
	if src == nil {
		src = pki.FileSource{Path: cfg.TrustBundle}
	}
	trust, err := pki.OpenTrustStore(context.Background(), src, cfg.TrustRefresh, clock.Or(opt.Now)())
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	// Partner certificates that name an OCSP responder or a CRL are
	// checked against them, with the fail policy of each role.
	trust.Revocation = &pki.Revocation{TLS: cfg.RevocationTLS, Seal: cfg.RevocationSeal, Skew: cfg.ClockSkew,
		Log: log.With("component", "revocation")}
	// A failed reload keeps the last good list, loudly: an error in the
	// log each time, /healthz degraded, a metric (docs/trust.md).
	trust.Log = log
	n.Trust = trust
	sink := opt.AuditSink
	n.AuditReader = opt.AuditReader
	if sink == nil {
		fs, err := audit.OpenFile(cfg.AuditDir, audit.FileOptions{RecoverTorn: true})
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		n.closers = append(n.closers, fs.Close)
		// The access log also shows the operators' outbox actions
		// (luxncp outbox replay / resolve write the operator log).
		sink, n.AuditReader = fs, audit.WithOperatorLog(fs, cfg.AuditDir)
	}
	self := audit.NCP{Country: cfg.Country, Host: "ncp-" + strings.ToLower(cfg.Country) + ".luxncp"}
	n.National = opt.National
	if n.National == nil {
		c, err := national.NewClient(cfg.NationalURL, national.WithTimeout(cfg.NationalTimeout), national.WithClientLogger(log))
		if err != nil {
			return nil, fmt.Errorf("node: national source: %w", err)
		}
		n.National = c
	}
	n.Recorder = &audit.Recorder{Sink: sink, Self: self, AuditSourceID: cfg.Country + "-1", Now: opt.Now,
		Resolve: PatientResolver(n.National, cfg.NationalTimeout)}
	if opt.Replay == nil {
		// Durable: a captured request is refused after a restart too.
		g, err := gateway.OpenFileReplayGuard(filepath.Join(cfg.StateDir, "replay", "message-ids"), cfg.ReplayMax, opt.Now)
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		n.closers = append(n.closers, g.Close)
		opt.Replay = g
	}
	n.Gateway = &gateway.Config{
		TLSTrust:   trust,
		Assertions: &wssec.Verifier{Trust: trust, Now: opt.Now, Skew: cfg.ClockSkew, NoAssertionCache: cfg.NoAssertionCache},
		Limits:     soap.Limits{MaxBytes: cfg.MaxBody},
		Now:        opt.Now,
		Log:        log,
		Audit:      n.Recorder,
		Self:       self,
		Replay:     opt.Replay,
		Admission: &gateway.Admission{MaxInFlight: cfg.MaxInFlight, MaxBodyMemory: cfg.MaxBodyMemory, CountryShare: cfg.CountryShare,
			Rate: cfg.RateLimit, Now: opt.Now},
	}
	// Closed before the audit sink: the counted refusals get their record.
	n.closers = append(n.closers, func() error { return n.Gateway.FlushRefusals(context.Background()) })
	n.Tokens = opt.Tokens
	if n.Tokens == nil && cfg.IDIssuer != "" {
		n.Tokens = &idtoken.Verifier{Issuer: cfg.IDIssuer, Audience: cfg.IDAudience, ACR: cfg.IDACR, Skew: cfg.ClockSkew, Now: opt.Now,
			Keys: &idtoken.RemoteKeys{Issuer: cfg.IDIssuer, Now: opt.Now}}
	}
	// Requests fail fast while the national system is known down (a
	// breaker); the dispatcher has its own backoff and calls it directly.
	front := &national.Breaker{Source: opt.Telemetry.Source(n.National), Now: opt.Now}
	xcpdSvc := &xcpd.Service{Patients: front, HomeCommunityID: cfg.HomeCommunityID, Timeout: cfg.NationalTimeout}
	n.Gateway.Evidence = n.evidenceEmitter(opt)
	n.endpoints["xcpd"] = &gateway.Endpoint{Name: "XCPD", Cfg: n.Gateway, Ops: []gateway.Operation{xcpdSvc.Operation()}}

	if n.Terms, err = terminology.LoadLicensedDir(os.Getenv(terminology.EnvLicensedDir)); err != nil {
		return nil, fmt.Errorf("node: terminology: %w", err)
	}
	provider := &lurecords.Provider{
		National: front, Terminology: n.Terms, HomeCommunityID: cfg.HomeCommunityID,
		Custodian: lurecords.DefaultCustodian(), Timeout: cfg.NationalTimeout,
	}
	xcaSvc := &xca.Service{Provider: provider, HomeCommunityID: cfg.HomeCommunityID}
	n.endpoints["xca"] = &gateway.Endpoint{Name: "XCA", Cfg: n.Gateway, Ops: xcaSvc.Operations()}

	n.Outbox = opt.Outbox
	if n.Outbox == nil {
		fs, err := outbox.OpenFile(filepath.Join(cfg.StateDir, "outbox"))
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		n.Outbox = fs
	}
	n.Kick = make(chan struct{}, 1)
	xdrSvc := &xdr.Service{Outbox: opt.Telemetry.Ledger(n.Outbox), National: front, Timeout: cfg.NationalTimeout, Kick: n.Kick}
	n.endpoints["xdr"] = &gateway.Endpoint{Name: "XDR", Cfg: n.Gateway, Ops: []gateway.Operation{xdrSvc.Operation()}}
	n.observe(opt.Telemetry, front)
	if err := n.buildCountryB(opt.CountryB); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return n, nil
}

// Endpoint returns the handler of one function (xcpd, xca, xdr).
func (n *Node) Endpoint(name string) (http.Handler, bool) {
	h, ok := n.endpoints[name]
	return h, ok
}

// Handler mounts every endpoint on the IHE paths (with and without the
// trailing slash partners send) and /healthz.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	paths := map[string]string{"xcpd": ehdsi.PathXCPD, "xca": ehdsi.PathXCA, "xdr": ehdsi.PathXDR}
	for name, p := range paths {
		if h, ok := n.endpoints[name]; ok {
			mux.Handle(p, h)
			mux.Handle(p+"/", h)
		}
	}
	mux.HandleFunc("/healthz", n.Healthz)
	// The patient access log, for Luxembourg's national portal: mutual TLS
	// with a Luxembourg certificate, and the token of the patient (or of a
	// data-protection officer). It reads where the audit sink writes.
	mux.Handle("GET /api/v1/audit/patients/{matricule}", n.RequireCountry(n.Cfg.Country, n.accessLog()))
	if n.CountryB != nil {
		mux.Handle("/api/v1/", n.tel.Serve(n.CountryB.Handler()))
	}
	// Every request gets an id, in its log lines and its X-Request-Id header
	// (on Lambda, API Gateway's request id).
	return reqlog.Middleware(mux)
}

// RequireCountry lets a request through only with a trusted client
// certificate of country cc (JSON errors: these are REST endpoints).
func (n *Node) RequireCountry(cc string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _ := host.PeerFrom(r.Context())
		now := clock.Or(n.Gateway.Now)()
		country, err := peer.Verify(n.Trust, now)
		if err != nil || country != cc {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"client-certificate","message":"a trusted ` + cc + ` client certificate is required"}}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Healthz answers liveness probes without a client certificate.
func Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok","service":"luxncp"}` + "\n"))
}

// checker is a sink that can tell whether it can write now (FileSink).
type checker interface{ Check() error }

// Healthz is the node's readiness probe: 503 with the reason while the
// audit sink cannot write (no transaction can be served then); each check
// lets the sink repair itself, so the probe turns ok again by itself when
// the disk has space. While the trust list cannot be reloaded it answers
// 200 with status "degraded" and the reason: the last good list still
// serves every partner, but a change (a CA removed) is not in force
// (docs/trust.md explains why this is not a 503). It needs no client
// certificate.
func (n *Node) Healthz(w http.ResponseWriter, r *http.Request) {
	if c, ok := n.Recorder.Sink.(checker); ok {
		if err := c.Check(); err != nil {
			n.Log.ErrorContext(r.Context(), "audit sink cannot write", "error", err.Error())
			writeHealth(w, http.StatusServiceUnavailable, "unavailable", "audit sink cannot write: "+err.Error())
			return
		}
	}
	if st := n.Trust.Check(clock.Or(n.Gateway.Now)()); st.Err != nil {
		writeHealth(w, http.StatusOK, "degraded", fmt.Sprintf("%v (failing since %s, %d failed reloads; the last good list of %d entries is in force)",
			st.Err, st.FailingSince.UTC().Format(time.RFC3339), st.Failures, st.Entries))
		return
	}
	Healthz(w, r)
}

func writeHealth(w http.ResponseWriter, status int, state, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"status": state, "service": "luxncp", "reason": reason})
	w.Write(append(b, '\n'))
}

// PatientResolver maps a matricule to every national identifier of the
// patient, the canonical (13-digit) one first, by asking the national
// register: the audit's patient identity (audit.Resolver).
func PatientResolver(p national.Patients, timeout time.Duration) audit.Resolver {
	return func(ctx context.Context, digits string) ([]string, error) {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		ps, err := p.FindPatients(ctx, national.PatientQuery{Matricule: digits})
		if errors.Is(err, national.ErrNotFound) || (err == nil && len(ps) == 0) {
			return nil, fmt.Errorf("%w: %w", audit.ErrUnknownPatient, err)
		}
		if err != nil {
			return nil, err
		}
		ids := []string{ps[0].Matricule}
		if l := ps[0].LegacyMatricule; l != "" && l != ps[0].Matricule {
			ids = append(ids, l)
		}
		return ids, nil
	}
}

// Close releases the node's resources (flushes and closes the audit chain).
func (n *Node) Close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	return errors.Join(errs...)
}

// NewLogger returns the JSON logger of a level name.
func NewLogger(level string, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	// Patient data never reaches the logs above debug level, even by mistake.
	return slog.New(reqlog.Handler(audit.RedactingHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))))
}

// Ping checks the national source answers (for start-up messages).
func (n *Node) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := n.National.FindPatients(ctx, national.PatientQuery{Matricule: "0000000000000"})
	return err
}

// Dispatcher returns the outbox dispatcher delivering to the national
// source, observed by the node's telemetry when it has one.
func (n *Node) Dispatcher() *outbox.Dispatcher {
	d := &outbox.Dispatcher{Queue: n.Outbox, National: n.National, Horizon: n.Cfg.OutboxHorizon, MaxBackoff: n.Cfg.OutboxMaxBackoff,
		Log: n.Log.With("component", "outbox")}
	observeDispatcher(d, n.tel)
	return d
}
