package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/conformance"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

const conformanceUsage = `Usage:
  luxncp conformance run  --target https://HOST:PORT [--as FR] [--cases DIR] [--profile FILE]
                          [--report FILE.html|.xml|.json]... [--suite NAME] [--run SUBSTRING]
                          [--pki-dir var/pki] [--cert F --key F --seal-cert F --seal-key F --ca F --seal-ca F]
                          [--validate-cda PATH|none]
  luxncp conformance load --target https://127.0.0.1:8443 --rate 20/s --duration 60s
                          [--as FR] [--concurrency 16] [--report FILE.json] [--allow-remote]
                          [--professionals 16] [--session 1h] [--fresh-assertions]
                          [--metrics URL] [--cpuprofile FILE] [--memprofile FILE]
  both: [--expect-luxncp] check first that --target is the luxncp gateway of
        this state directory (make conformance and make load pass it)
  luxncp conformance list [--cases DIR]

run   acts as a Country B node (its TLS certificate and seal: the dev PKI of
      --as by default) against any eHDSI national contact point, runs every
      case under --cases (one JSON file per case) with the patients of
      --profile, and writes the reports. The final XSD + schematron check
      of the retrieved documents (validate-cda) reports its progress on
      stderr; the summary quotes every warning it counts. Exit status 1
      when a case fails.
load  runs the pharmacist iteration (XCPD, XCA eP list, retrieve L3,
      retrieve L1) at --rate for --duration, and prints p50/p95/p99/max per
      step. Assertions as a partner NCP's portal sends them: --professionals
      pharmacists take the iterations in turn, each reusing one HCP
      assertion for --session (at most 3h55m), and every iteration (a
      patient visit) signs its own TRC; --fresh-assertions signs a new HCP
      every iteration (the worst case). A progress line goes to stderr
      every 5 s. --metrics URL (the target's Prometheus endpoint) adds the
      gateway's CPU per iteration and its peak RSS during the run (sampled
      every 1 s, MB of 10^6 bytes), only when its luxncp_requests_total rose
      by at least this run's answered requests and at most twice its sent
      requests + 100; otherwise, or when it stops answering, the summary
      says why the gateway figures are unavailable. Exit status 1 when an
      iteration fails, the target does not hold the rate (fewer than 95%
      of --rate successful iterations per second over the run), or
      --metrics was given and the gateway figures are unavailable; once
      the run started, the summary and --report are written in every case.
      Loopback targets only unless --allow-remote.
      --cpuprofile and --memprofile write the generator's own CPU and
      memory profiles of the run (go tool pprof). The generator runs with
      GOGC=400 unless GOGC is set.
Exit status: 0 passed, 1 failed (see above), 2 wrong arguments.
`

func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, conformanceUsage)
		return nil
	}
	switch args[0] {
	case "run":
		return conformanceRun(ctx, args[1:], stdout, stderr)
	case "load":
		return conformanceLoad(ctx, args[1:], stdout, stderr)
	case "list":
		return conformanceList(args[1:], stdout, stderr)
	}
	return badUsage("unknown conformance command %q (run, load, list)", args[0])
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// nodeFlags are the Country B credentials of both modes.
type nodeFlags struct {
	target, as, pkiDir, cert, key, sealCert, sealKey, ca, sealCA, profile string
	timeout                                                               time.Duration
	expectLuxncp                                                          bool
}

func (n *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.target, "target", "https://127.0.0.1:8443", "base URL of the national contact point under test")
	fs.StringVar(&n.as, "as", "FR", "country the suite acts as (Country B)")
	fs.StringVar(&n.pkiDir, "pki-dir", defaultPKIDir(), "dev PKI directory (default credentials)")
	fs.StringVar(&n.cert, "cert", "", "TLS client certificate PEM (default: dev <as>-tls.pem)")
	fs.StringVar(&n.key, "key", "", "TLS client key PEM")
	fs.StringVar(&n.sealCert, "seal-cert", "", "seal certificate PEM signing the assertions (default: dev <as>-seal.pem)")
	fs.StringVar(&n.sealKey, "seal-key", "", "seal key PEM")
	fs.StringVar(&n.ca, "ca", "", "CA bundle PEM the target's TLS certificate chains to (default: dev ca.pem)")
	fs.StringVar(&n.sealCA, "seal-ca", "", "CA bundle PEM the target's document signatures chain to (default: --ca)")
	fs.StringVar(&n.profile, "profile", filepath.Join("conformance", "profiles", "lu-demo.json"), "profile: the target's patients and ids")
	fs.DurationVar(&n.timeout, "timeout", 30*time.Second, "timeout of each HTTP call")
	fs.BoolVar(&n.expectLuxncp, "expect-luxncp", false, "first check that --target is the luxncp gateway of --ca: it answers, its certificate chains to --ca and /healthz says luxncp (make conformance and make load do)")
}

// caFile is the CA bundle the target's TLS certificate must chain to.
func (n *nodeFlags) caFile() string {
	if n.ca != "" {
		return n.ca
	}
	return filepath.Join(n.pkiDir, pki.CAFile)
}

// checkTarget checks --target's form, then runs the --expect-luxncp check.
func (n *nodeFlags) checkTarget(ctx context.Context) error {
	if u, err := url.Parse(n.target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badUsage("--target: %q is not a URL like https://127.0.0.1:8443", n.target)
	}
	if !n.expectLuxncp {
		return nil
	}
	return checkLuxncpTarget(ctx, n.target, n.caFile())
}

type nodeSetup struct {
	id      *ncpclient.Identity
	client  *ncpclient.Client
	noCert  *ncpclient.Client
	other   wssec.Signer
	profile *conformance.Profile
	trust   *pki.TrustStore
}

func (n *nodeFlags) setup() (*nodeSetup, error) {
	cc := strings.ToLower(n.as)
	if len(cc) != 2 {
		return nil, badUsage("--as: %q is not a two-letter country code", n.as)
	}
	prof, err := conformance.LoadProfile(n.profile)
	if err != nil {
		return nil, err
	}
	// Seal.
	var seal wssec.Signer
	if n.sealCert != "" || n.sealKey != "" {
		if n.sealCert == "" || n.sealKey == "" {
			return nil, badUsage("--seal-cert and --seal-key go together")
		}
		cert, err := pki.ReadCertificate(n.sealCert)
		if err != nil {
			return nil, err
		}
		key, err := pki.ReadKey(n.sealKey)
		if err != nil {
			return nil, err
		}
		seal = wssec.Signer{Key: key, Cert: cert}
	} else {
		id, err := loadIdentity(n.pkiDir, cc)
		if err != nil {
			return nil, err
		}
		seal = id.Seal
	}
	// TLS.
	var tlsCert tls.Certificate
	if n.cert != "" || n.key != "" {
		if tlsCert, err = tls.LoadX509KeyPair(n.cert, n.key); err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
	} else {
		c, err := pki.LoadCredential(n.pkiDir, cc, pki.KindTLS)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate for %s: %w (run 'make run' once, or 'luxncp pki init')", strings.ToUpper(cc), err)
		}
		tlsCert = c.TLSCertificate()
	}
	cas, err := pki.ReadCertificates(n.caFile())
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	// The target may be any country: its CAs anchor every role for each.
	countries := append([]string{prof.Country}, pki.DevCountries...)
	trust := pki.NewTrustStore(pki.AnchorsOf(cas, countries...)...)
	if n.sealCA != "" {
		scas, err := pki.ReadCertificates(n.sealCA)
		if err != nil {
			return nil, fmt.Errorf("--seal-ca: %w", err)
		}
		trust = pki.NewTrustStore(pki.AnchorsOf(scas, countries...)...)
	}
	s := &nodeSetup{
		id:      &ncpclient.Identity{Country: strings.ToUpper(cc), Seal: seal},
		client:  &ncpclient.Client{HTTP: ncpclient.NewMTLSClient(tlsCert, pool, n.timeout)},
		profile: prof,
		trust:   trust,
	}
	noCert := ncpclient.NewMTLSClient(tls.Certificate{}, pool, n.timeout)
	noCert.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	s.noCert = &ncpclient.Client{HTTP: noCert}
	// Another country's seal of the same dev PKI, for the country-mismatch case.
	for _, o := range pki.DevCountries {
		if o == cc || strings.EqualFold(o, prof.Country) {
			continue
		}
		if c, err := pki.LoadCredential(n.pkiDir, o, pki.KindSeal); err == nil {
			s.other = wssec.Signer{Key: c.Signer, Cert: c.Cert}
			break
		}
	}
	return s, nil
}

func defaultValidateCDA() string {
	p := filepath.Join("..", "shared", "tools", "validate-cda")
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p
	}
	return ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func conformanceRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance run", conformanceUsage, stderr)
	var nf nodeFlags
	nf.register(fs)
	casesDir := fs.String("cases", filepath.Join("conformance", "cases"), "directory of <suite>/<case>.json files")
	var reports multiFlag
	fs.Var(&reports, "report", "write a report: FILE.html, FILE.xml (JUnit) or FILE.json (repeatable)")
	suite := fs.String("suite", "", "run only this suite")
	only := fs.String("run", "", "run only cases whose suite/name contains this")
	validate := fs.String("validate-cda", defaultValidateCDA(), "validate-cda tool for full XSD + schematron checks of returned documents ('none': skip)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, r := range reports {
		switch filepath.Ext(r) {
		case ".html", ".htm", ".xml", ".json":
		default:
			return badUsage("--report: %q must end in .html, .xml or .json", r)
		}
	}
	if err := nf.checkTarget(ctx); err != nil {
		return err
	}
	cases, err := conformance.LoadCasesDir(*casesDir)
	if err != nil {
		return err
	}
	var sel []conformance.Case
	for _, c := range cases {
		if (*suite == "" || c.Suite == *suite) && (*only == "" || strings.Contains(c.ID(), *only)) {
			sel = append(sel, c)
		}
	}
	if len(sel) == 0 {
		return badUsage("--suite/--run: no case selected")
	}
	s, err := nf.setup()
	if err != nil {
		return err
	}
	if *validate == "none" {
		*validate = ""
	}
	r := &conformance.Runner{
		Target: nf.target, Client: s.client, NoCert: s.noCert, Profile: s.profile,
		Creds:      &conformance.Credentials{Identity: s.id, Other: s.other},
		SenderHCID: senderHCID(s.id.Country), ValidateCDA: *validate, Trust: s.trust,
		Notes: stderr,
	}
	if isTerminal(stdout) {
		r.Progress = conformance.Progress(stdout)
	}
	rep := r.Run(ctx, sel)
	if err := conformance.WriteSummary(stdout, rep); err != nil {
		return err
	}
	for _, file := range reports {
		if err := writeReport(file, rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report written to %s\n", file)
	}
	if _, fail, _ := rep.Counts(); fail > 0 {
		return fmt.Errorf("%d of %d cases failed", fail, len(rep.Cases))
	}
	return nil
}

func writeReport(file string, rep *conformance.Report) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	switch filepath.Ext(file) {
	case ".html", ".htm":
		err = conformance.WriteHTML(f, rep)
	case ".xml":
		err = conformance.WriteJUnit(f, rep)
	default:
		err = conformance.WriteJSON(f, rep)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("report %s: %w", file, err)
	}
	return nil
}

func parseRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || r <= 0 || r > 10000 {
		return 0, badUsage("--rate: %q is not a rate like 20/s (iterations per second, more than 0 and at most 10000)", s)
	}
	return r, nil
}

// loadGCPercent is conformance load's Go collector target unless GOGC is
// set: ≈ 0.4–1 ms less CPU per iteration than Go's 100 for ≈ 14 MB more RSS
// (docs/benchmarks.md).
const loadGCPercent = 400

// loadGC sets the generator's collector target: the generator's live heap
// is small (the iterations in flight) and it shares the cores with the
// gateway it measures, so it collects less often than Go's default (issue
// 19, "The load generator's own CPU" in docs/benchmarks.md). GOGC in the
// environment still decides.
func loadGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(loadGCPercent)
	}
}

func conformanceLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance load", conformanceUsage, stderr)
	var nf nodeFlags
	nf.register(fs)
	rate := fs.String("rate", "10/s", "iterations per second")
	duration := fs.Duration("duration", 10*time.Second, "how long to run (at most 1h)")
	conc := fs.Int("concurrency", 16, "iterations in flight at most")
	maxIt := fs.Int("max-iterations", 0, "stop after this many iterations (default rate × duration)")
	patient := fs.String("patient", "ep", "profile patient with ePrescriptions")
	report := fs.String("report", "", "also write the figures to FILE.json, and an HTML page with latency plots beside it (FILE.html)")
	metrics := fs.String("metrics", "", "the target's Prometheus endpoint (luxncp serve: http://127.0.0.1:9464/metrics): report the gateway's CPU per iteration and peak RSS during the run, once its request counter shows it served the run")
	allowRemote := fs.Bool("allow-remote", false, "allow a target that is not on this machine")
	profs := fs.Int("professionals", conformance.DefaultProfessionals, "simulated professionals, each with its own HCP assertion")
	session := fs.Duration("session", conformance.DefaultSession, "how long a professional reuses its HCP assertion")
	fresh := fs.Bool("fresh-assertions", false, "sign a new HCP assertion every iteration (no sessions: the worst case)")
	cpuProfile := fs.String("cpuprofile", "", "write the generator's CPU profile of the run to FILE (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write the generator's memory profile (allocations of the run, heap at its end) to FILE")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *profs <= 0 || *profs > 100000 {
		return badUsage("--professionals: %d is not between 1 and 100000", *profs)
	}
	if *session <= 0 || *session > conformance.MaxSession {
		return badUsage("--session: %s must be more than 0 and at most %s", *session, conformance.MaxSession)
	}
	r, err := parseRate(*rate)
	if err != nil {
		return err
	}
	if *duration <= 0 || *duration > time.Hour {
		return badUsage("--duration: %s must be more than 0 and at most 1h", *duration)
	}
	if *conc <= 0 || *conc > 1024 {
		return badUsage("--concurrency: %d is not between 1 and 1024", *conc)
	}
	if !conformance.IsLoopback(nf.target) && !*allowRemote {
		return fmt.Errorf("refusing to load-test %s: not a loopback address (pass --allow-remote for a target you operate)", nf.target)
	}
	if err := nf.checkTarget(ctx); err != nil {
		return err
	}
	s, err := nf.setup()
	if err != nil {
		return err
	}
	l := &conformance.Load{
		Target: nf.target, Client: s.client, Identity: s.id, Profile: s.profile, PatientKey: *patient,
		SenderHCID: senderHCID(s.id.Country), Rate: r, Duration: *duration, Concurrency: *conc, MaxIterations: *maxIt,
		Progress: stderr, Metrics: *metrics, Professionals: *profs, Session: *session, FreshAssertions: *fresh,
	}
	loadGC()
	rep, err := runProfiled(*cpuProfile, *memProfile, func() (*conformance.LoadReport, error) { return l.Run(ctx) })
	if err != nil {
		return err
	}
	if err := conformance.WriteLoadText(stdout, rep); err != nil {
		return err
	}
	if *report != "" {
		page := strings.TrimSuffix(*report, filepath.Ext(*report)) + ".html"
		if err := writeLoadReport(*report, rep, conformance.WriteLoadJSON); err != nil {
			return err
		}
		if err := writeLoadReport(page, rep, conformance.WriteLoadHTML); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report written to %s and %s\n", *report, page)
	}
	return rep.Check()
}

// writeLoadReport writes the load report to path in one format.
func writeLoadReport(path string, rep *conformance.LoadReport, write func(io.Writer, *conformance.LoadReport) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f, rep)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func conformanceList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance list", conformanceUsage, stderr)
	casesDir := fs.String("cases", filepath.Join("conformance", "cases"), "directory of <suite>/<case>.json files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cases, err := conformance.LoadCasesDir(*casesDir)
	if err != nil {
		return err
	}
	for _, c := range cases {
		fmt.Fprintf(stdout, "%-55s %-13s %s\n", c.ID(), c.Transaction, c.Description)
	}
	fmt.Fprintf(stdout, "%d cases\n", len(cases))
	return nil
}
