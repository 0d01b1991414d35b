package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/smp"
	"github.com/luxncp/luxncp/internal/telemetry"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

const serveUsage = `Usage:
  luxncp serve [--addr 127.0.0.1:8443] [--national-addr 127.0.0.1:8081] [--metrics-addr 127.0.0.1:9464] [--state-dir var] [--no-peers] [--pprof]
Starts the gateway, the demo national backend and the simulated neighbour
NCPs on this machine, and serves until Ctrl-C (SIGINT) or SIGTERM: requests
in flight finish, then it exits 0. A busy address fails at once (exit 1)
with a message naming it. 'make run ADDR=… NATIONAL_ADDR=…' runs this.
The admin listener (--metrics-addr, plain HTTP, keep it on loopback or a
private network) serves Prometheus metrics at /metrics; traces go to OTLP
when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/observability.md). With
--pprof it also serves Go's profiler at /debug/pprof/ (docs/benchmarks.md:
go tool pprof http://127.0.0.1:9464/debug/pprof/profile?seconds=20).
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	fs := newFlagSet("serve", serveUsage, stderr)
	stateDir := fs.String("state-dir", cfg.StateDir, "state directory: dev PKI, audit chain, outbox, demo national state (env LUXNCP_STATE_DIR)")
	addr := fs.String("addr", envOr("LUXNCP_ADDR", "127.0.0.1:8443"), "gateway HTTPS address (env LUXNCP_ADDR)")
	nationalAddr := fs.String("national-addr", envOr("LUXNCP_DEMO_NATIONAL_ADDR", "127.0.0.1:8081"), "demo national FHIR backend address; empty: don't start it (env LUXNCP_DEMO_NATIONAL_ADDR)")
	logLevel := fs.String("log-level", cfg.LogLevel, "debug | info | warn | error (env LUXNCP_LOG_LEVEL)")
	noPeers := fs.Bool("no-peers", os.Getenv("LUXNCP_NO_PEERS") != "", "don't start the simulated neighbour NCPs (env LUXNCP_NO_PEERS)")
	metricsAddr := fs.String("metrics-addr", envOr("LUXNCP_METRICS_ADDR", defaultMetricsAddr), "admin listener: Prometheus /metrics (plain HTTP); \"off\": none (env LUXNCP_METRICS_ADDR)")
	pprofOn := fs.Bool("pprof", os.Getenv("LUXNCP_PPROF") != "", "also serve Go's profiler at /debug/pprof/ on the admin listener (env LUXNCP_PPROF)")
	foreground := fs.Bool("foreground", false, "take the terminal's foreground so that Ctrl-C reaches luxncp alone (make run: make then exits with luxncp's status, 0)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	gwAddr := addrFlag{*addr, "--addr", "ADDR"}
	natAddr := addrFlag{*nationalAddr, "--national-addr", "NATIONAL_ADDR"}
	if err := gwAddr.checkFree(); err != nil {
		return err
	}
	if *nationalAddr != "" {
		if err := natAddr.checkFree(); err != nil {
			return err
		}
	}
	// The default admin address, when busy (another luxncp), is skipped
	// with a warning; one asked for explicitly must be free.
	admAddr := addrFlag{*metricsAddr, "--metrics-addr", "METRICS_ADDR"}
	metricsOn := *metricsAddr != "" && *metricsAddr != "off"
	if metricsOn && *pprofOn && !loopbackAddr(*metricsAddr) {
		// A profile shows memory and command line: only on loopback.
		return fmt.Errorf("--pprof needs a loopback --metrics-addr (127.0.0.1 or ::1), not %q: the profiler shows the process's memory", *metricsAddr)
	}
	if metricsOn {
		if err := admAddr.checkFree(); err != nil {
			if *metricsAddr != defaultMetricsAddr {
				return err
			}
			fmt.Fprintf(stderr, "luxncp: metrics off: %v\n", err)
			metricsOn = false
		}
	}
	if *foreground {
		restore, err := takeTerminal()
		if err != nil {
			return err
		}
		defer restore()
	}
	if *stateDir != cfg.StateDir {
		// Everything derived from the state directory (PKI, trust list,
		// audit, evidence, replay, callers file, …) follows it; settings
		// given explicitly in the environment stay as given.
		if cfg, err = node.FromEnv(func(k string) string {
			if k == "LUXNCP_STATE_DIR" {
				return *stateDir
			}
			return os.Getenv(k)
		}); err != nil {
			return err
		}
	}
	cfg.LogLevel = *logLevel
	if os.Getenv("LUXNCP_NATIONAL_URL") == "" && *nationalAddr != "" {
		cfg.NationalURL = "http://" + *nationalAddr + "/fhir"
	}
	cfg = cfg.Defaults()
	node.SetMemoryLimit(nil)
	log := node.NewLogger(cfg.LogLevel, stderr)
	if off, _ := clock.Offset(); off != 0 {
		log.Warn("the gateway's clock is shifted", "env", clock.OffsetEnv, "offset", off.String(), "now", clock.Now().UTC().Format(time.RFC3339))
	}

	// Dev PKI on first start (only when the trust bundle is the default one).
	if cfg.TrustBundle == filepath.Join(cfg.PKIDir, pki.TrustDir) {
		gen, err := pki.EnsureDev(cfg.PKIDir, pki.DevOptions{})
		if err != nil {
			return err
		}
		if gen {
			fmt.Fprintf(stdout, "generated a development PKI in %s (CA, TLS and seal certificates for %s)\n", cfg.PKIDir, strings.Join(pki.DevCountries, ", "))
		}
	}
	tlsCred, err := pki.LoadCredential(cfg.PKIDir, "lu", pki.KindTLS)
	if err != nil {
		return fmt.Errorf("gateway TLS certificate: %w", err)
	}

	var servers []*host.Server
	if *nationalAddr != "" && os.Getenv("LUXNCP_NATIONAL_URL") == "" {
		s, closeBackend, err := demoNational(&cfg, natAddr.addr, log)
		if err != nil {
			return err
		}
		defer closeBackend()
		servers = append(servers, s)
	}
	if err := ensureDevCallers(cfg); err != nil {
		return err
	}
	// Simulated neighbour NCPs (FR, BE, DE, NL, PT), found the way
	// production partners are: a local SML (DNS on loopback) names a local
	// SMP that serves each one's signed metadata (and Luxembourg's own).
	var fleet *peer.Fleet
	var local *smp.Local
	if !*noPeers && os.Getenv("LUXNCP_DIRECTORY") == "" && os.Getenv("LUXNCP_SML_ZONE") == "" {
		fleet, err = peer.NewFleet(peer.Options{PKIDir: cfg.PKIDir, Log: log.With("component", "peer")}, nil, "127.0.0.1", nil)
		if err != nil {
			return fmt.Errorf("simulated peers: %w", err)
		}
		defer fleet.Close()
		local, err = startLocalDiscovery(cfg, fleet)
		if err != nil {
			return err
		}
		defer local.Close()
		cfg.SMLZone, cfg.SMLServer, cfg.DiscoveryCountries = localSMLZone, local.SML.Addr(), nil
		for _, p := range fleet.Peers {
			cfg.DiscoveryCountries = append(cfg.DiscoveryCountries, p.Country())
		}
	}
	tracer, stopTracing, err := telemetry.OTLPTracer(ctx, "luxncp")
	if err != nil {
		return err
	}
	if stopTracing != nil {
		defer stopTracing(context.Background())
	}
	var tel *telemetry.Telemetry
	if metricsOn || tracer != nil {
		tel = telemetry.New(telemetry.Options{Tracer: tracer})
	}
	n, err := node.New(cfg, log, node.Options{Telemetry: tel})
	if err != nil {
		return err
	}
	defer n.Close()
	var admin *host.Server
	if metricsOn {
		var h http.Handler = tel.AdminHandler()
		if *pprofOn {
			h = withPprof(h)
		}
		admin = &host.Server{Name: "admin", Addr: admAddr.addr, Handler: h, Log: log}
		if err := admin.Listen(); err != nil {
			return admAddr.listenError(err)
		}
	}
	gw := &host.Server{Name: "gateway", Addr: gwAddr.addr, Handler: n.Handler(), TLS: host.LocalTLSConfig(tlsCred.TLSCertificate()), Log: log}
	if err := gw.Listen(); err != nil {
		return gwAddr.listenError(err)
	}
	for _, s := range servers {
		if err := s.Listen(); err != nil {
			return natAddr.listenError(err)
		}
	}
	servers = append([]*host.Server{gw}, servers...)
	gwURL := "https://" + gw.BoundAddr()
	if local != nil {
		if err := publishOwn(n, local, gwURL); err != nil {
			return err
		}
		if n.Discovery != nil {
			if err := n.Discovery.Refresh(ctx); err != nil {
				log.Warn("first discovery incomplete", "error", err.Error())
			}
		}
	}
	fmt.Fprintf(stdout, "luxncp is serving (Ctrl-C stops it cleanly)\n")
	fmt.Fprintf(stdout, "  gateway            %s  (mutual TLS; client certificates from %s)\n", gwURL, cfg.TrustBundle)
	fmt.Fprintf(stdout, "    XCPD             %s%s\n", gwURL, ehdsi.PathXCPD)
	for _, p := range []struct{ name, path string }{{"xca", ehdsi.PathXCA}, {"xdr", ehdsi.PathXDR}} {
		if _, ok := n.Endpoint(p.name); ok {
			fmt.Fprintf(stdout, "    %-16s %s%s\n", strings.ToUpper(p.name), gwURL, p.path)
		}
	}
	if n.CountryB != nil {
		fmt.Fprintf(stdout, "    Country B API    %s/api/v1/  (JSON; Luxembourg client certificate + professional's token)\n", gwURL)
	}
	fmt.Fprintf(stdout, "    access log       %s/api/v1/audit/patients/{matricule}  (the patient's token)\n", gwURL)
	fmt.Fprintf(stdout, "    health           %s/healthz  (no client certificate needed)\n", gwURL)
	for _, s := range servers[1:] {
		fmt.Fprintf(stdout, "  %-18s http://%s/fhir\n", s.Name, s.BoundAddr())
	}
	if local != nil {
		fmt.Fprintf(stdout, "  SML (DNS)          %s  (zone %s)\n", local.SML.Addr(), localSMLZone)
		fmt.Fprintf(stdout, "  SMP                %s  (signed metadata of LU and the simulated NCPs)\n", local.URL)
	}
	if cfg.IDIssuer != "" {
		fmt.Fprintf(stdout, "  identity provider  %s  (tokens: luxncp token professional|patient|supervisor)\n", cfg.IDIssuer)
	}
	if fleet != nil {
		if dir, err := fleet.Directory(); err == nil {
			if cs, err := dir.Countries(ctx); err == nil {
				for _, c := range cs {
					base := ""
					if len(c.Endpoints) > 0 {
						if u, err := url.Parse(c.Endpoints[0].URL); err == nil {
							base = u.Scheme + "://" + u.Host
						}
					}
					fmt.Fprintf(stdout, "  simulated NCP %s   %s  (%s, home community %s)\n", c.Code, base, c.Name, c.HomeCommunityID)
				}
			}
		}
	}
	if admin != nil {
		fmt.Fprintf(stdout, "  metrics            http://%s/metrics  (admin listener, Prometheus)\n", admin.BoundAddr())
		if *pprofOn {
			fmt.Fprintf(stdout, "  profiler           http://%s/debug/pprof/  (admin listener, --pprof)\n", admin.BoundAddr())
		}
		servers = append(servers, admin)
	}
	fmt.Fprintf(stdout, "  state              %s  (PKI %s, audit %s, evidence %s, directory cache %s)\n", cfg.StateDir, cfg.PKIDir, cfg.AuditDir, cfg.EvidenceDir, filepath.Join(cfg.StateDir, "directory.json"))

	var wg sync.WaitGroup
	errc := make(chan error, len(servers))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if fleet != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fleet.Serve(sctx); err != nil && sctx.Err() == nil {
				errc <- fmt.Errorf("simulated peers: %w", err)
				cancel()
			}
		}()
	}
	if n.Discovery != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Discovery.Run(sctx, cfg.DiscoveryRefresh)
		}()
	}
	// The eDispensation dispatcher: accepted dispensations reach the
	// national system, exactly once, even after a restart.
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.Dispatcher().Run(sctx, 5*time.Second, n.Kick)
	}()
	for _, s := range servers {
		wg.Add(1)
		go func(s *host.Server) {
			defer wg.Done()
			if err := s.Serve(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.Name, err)
				cancel()
			}
		}(s)
	}
	wg.Wait()
	close(errc)
	fmt.Fprintln(stdout, "luxncp stopped")
	return <-errc
}

// demoNational builds the demo national backend (state under
// <state>/national) and, unless cfg names an identity provider, the
// development one beside it (its issuer then goes into cfg.IDIssuer): the
// server to listen on addr, and the function that closes the backend.
func demoNational(cfg *node.Config, addr string, log *slog.Logger) (*host.Server, func() error, error) {
	backend, err := demo.New(filepath.Join(cfg.StateDir, "national"), demo.WithLogger(log.With("component", "demo-national")))
	if err != nil {
		return nil, nil, fmt.Errorf("demo national backend: %w", err)
	}
	var h http.Handler = backend
	if cfg.IDIssuer == "" {
		// The development national identity provider, beside the demo
		// national record: its discovery document and keys.
		idp, err := idtoken.OpenDevIssuer(devIDPDir(cfg.StateDir), "http://"+addr+"/idp")
		if err == nil {
			err = os.WriteFile(filepath.Join(devIDPDir(cfg.StateDir), idtoken.DevIssuerFile), []byte(idp.URL+"\n"), 0o644)
		}
		if err != nil {
			backend.Close()
			return nil, nil, fmt.Errorf("dev identity provider: %w", err)
		}
		cfg.IDIssuer = idp.URL
		mux := http.NewServeMux()
		mux.Handle("/idp/", idp.Handler())
		mux.Handle("/", backend)
		h = mux
	}
	return &host.Server{Name: "demo national backend", Addr: addr, Handler: h, Log: log}, backend.Close, nil
}

// loopbackAddr says whether host:port names a loopback address (a host
// name other than localhost is not trusted to be one).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultMetricsAddr is the admin listener's default (Prometheus's
// conventional exporter port range).
const defaultMetricsAddr = "127.0.0.1:9464"

// localSMLZone is the DNS zone of the SML luxncp serve runs.
const localSMLZone = "sml.luxncp.test"

// startLocalDiscovery starts the local SML and SMP and publishes the
// simulated peers' metadata, each signed with that peer's seal.
func startLocalDiscovery(cfg node.Config, fleet *peer.Fleet) (*smp.Local, error) {
	trust, err := pki.LoadTrustStore(cfg.TrustBundle)
	if err != nil {
		return nil, err
	}
	local, err := smp.StartLocal(localSMLZone, "127.0.0.1:0", "127.0.0.1:0", smp.Verifier{Trust: trust}, filepath.Join(cfg.StateDir, "smp"))
	if err != nil {
		return nil, err
	}
	dir, err := fleet.Directory()
	if err != nil {
		local.Close()
		return nil, fmt.Errorf("simulated peers: %w", err)
	}
	cs, _ := dir.Countries(context.Background())
	now := clock.Now()
	for _, c := range cs {
		seal, err := pki.LoadCredential(cfg.PKIDir, c.Code, pki.KindSeal)
		if err == nil {
			err = local.Publish(c, seal.Signer, seal.Cert, now.Add(-time.Hour), seal.Cert.NotAfter)
		}
		if err != nil {
			local.Close()
			return nil, fmt.Errorf("local SMP: %w", err)
		}
	}
	return local, nil
}

// publishOwn publishes Luxembourg's metadata (the gateway at gwURL) to the
// local SMP, signed with Luxembourg's seal.
func publishOwn(n *node.Node, local *smp.Local, gwURL string) error {
	own, err := n.OwnCountry(gwURL)
	if err != nil {
		return fmt.Errorf("own metadata: %w", err)
	}
	seal, err := pki.LoadCredential(n.Cfg.PKIDir, n.Cfg.Country, pki.KindSeal)
	if err != nil {
		return fmt.Errorf("own metadata: %w", err)
	}
	if err := local.Publish(own, seal.Signer, seal.Cert, clock.Now().Add(-time.Hour), seal.Cert.NotAfter); err != nil {
		return fmt.Errorf("own metadata: %w", err)
	}
	return nil
}

// devIDPDir is where the development identity provider keeps its key.
func devIDPDir(stateDir string) string { return filepath.Join(stateDir, "idp") }

// devSystem is the subject CN of Luxembourg's dev TLS certificate.
const devSystem = "ncp-lu tls (dev)"

// ensureDevCallers writes, on a dev PKI's first run, the callers file that
// lets Luxembourg's dev TLS certificate act for every organisation; an
// existing file (or one configured elsewhere) is left alone.
func ensureDevCallers(cfg node.Config) error {
	if cfg.TrustBundle != filepath.Join(cfg.PKIDir, pki.TrustDir) || cfg.APICallers != filepath.Join(cfg.StateDir, "api-callers.json") {
		return nil
	}
	if _, err := os.Stat(cfg.APICallers); err == nil {
		return nil
	}
	b := []byte("{\n  \"" + devSystem + "\": [\"*\"]\n}\n")
	if err := os.WriteFile(cfg.APICallers, b, 0o644); err != nil {
		return fmt.Errorf("API callers: %w", err)
	}
	return nil
}
