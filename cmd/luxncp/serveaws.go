package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/awsrun"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
)

const serveAWSUsage = `Usage:
  luxncp serve-aws --functions DIR [--addr 127.0.0.1:8443] [--national-addr 127.0.0.1:8081] [--state-dir var] [--terraform terraform]
Runs the AWS path on this machine: the AWS emulators (DynamoDB: dynalite,
SQS: goaws, KMS: local-kms, S3: gofakes3; scripts/install-aws-emulators),
the resources terraform/ creates, every function binary of DIR (go build
-o DIR/ ./functions/...) under a local Lambda Runtime API with the
environment terraform/main.tf gives it, the dispatcher triggered from the
SQS queue, and a mutual TLS front on --addr that routes as the API Gateway
HTTP API does and hands each function a payload 2.0 event. The dev PKI,
the demo national backend and its identity provider are those of
'luxncp serve' (same state directory), so the README walk-through answers
unchanged. Not here: the simulated neighbour NCPs and the maintenance
schedule. Ctrl-C stops everything (no emulator or function process is
left). 'make run-aws' runs this.
`

func runServeAWS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	fs := newFlagSet("serve-aws", serveAWSUsage, stderr)
	stateDir := fs.String("state-dir", cfg.StateDir, "state directory: dev PKI, demo national state; the emulators' data under aws/ (env LUXNCP_STATE_DIR)")
	addr := fs.String("addr", envOr("LUXNCP_ADDR", "127.0.0.1:8443"), "the API Gateway front's HTTPS address (env LUXNCP_ADDR)")
	nationalAddr := fs.String("national-addr", envOr("LUXNCP_DEMO_NATIONAL_ADDR", "127.0.0.1:8081"), "demo national FHIR backend address (env LUXNCP_DEMO_NATIONAL_ADDR)")
	functions := fs.String("functions", "", "directory of the function binaries, one per functions/<name> (required)")
	tfDir := fs.String("terraform", "terraform", "the repository's terraform/ directory (the functions' environment and routes are read from its main.tf)")
	foreground := fs.Bool("foreground", false, "take the terminal's foreground so that Ctrl-C reaches luxncp alone (make run-aws)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *functions == "" {
		return badUsage("--functions is required (go build -o DIR/ ./functions/...)")
	}
	gwAddr := addrFlag{*addr, "--addr", "ADDR"}
	natAddr := addrFlag{*nationalAddr, "--national-addr", "NATIONAL_ADDR"}
	for _, a := range []addrFlag{gwAddr, natAddr} {
		if err := a.checkFree(); err != nil {
			return err
		}
	}
	if *foreground {
		restore, err := takeTerminal()
		if err != nil {
			return err
		}
		defer restore()
	}
	if cfg, err = node.FromEnv(func(k string) string {
		if k == "LUXNCP_STATE_DIR" {
			return *stateDir
		}
		return os.Getenv(k)
	}); err != nil {
		return err
	}
	cfg = cfg.Defaults()
	log := node.NewLogger(cfg.LogLevel, stderr)
	if _, err := pki.EnsureDev(cfg.PKIDir, pki.DevOptions{}); err != nil {
		return err
	}
	tlsCred, err := pki.LoadCredential(cfg.PKIDir, "lu", pki.KindTLS)
	if err != nil {
		return fmt.Errorf("gateway TLS certificate: %w", err)
	}
	ca, err := pki.ReadCertificate(filepath.Join(cfg.PKIDir, pki.CAFile))
	if err != nil {
		return err
	}
	trust, err := pki.LoadTrustStore(cfg.TrustBundle)
	if err != nil {
		return err
	}
	national, closeBackend, err := demoNational(&cfg, natAddr.addr, log)
	if err != nil {
		return err
	}
	defer closeBackend()
	if err := national.Listen(); err != nil {
		return natAddr.listenError(err)
	}
	nctx, stopNational := context.WithCancel(context.Background())
	nationalDone := make(chan struct{})
	go func() { defer close(nationalDone); _ = national.Serve(nctx) }()
	defer func() { stopNational(); <-nationalDone }()

	// The API callers terraform's var.api_callers lists: the dev
	// Luxembourg system acts for every organisation (as make run's file).
	callers := cty.MapVal(map[string]cty.Value{devSystem: cty.ListVal([]cty.Value{cty.StringVal("*")})})
	noCountries, err := routing.NewStatic()
	if err != nil {
		return err
	}
	dir, err := noCountries.Marshal()
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	fmt.Fprintln(stdout, "starting the AWS emulators and the functions …")
	g, err := awsrun.Start(ctx, awsrun.Options{
		TerraformDir: *tfDir, FunctionsDir: *functions, WorkDir: filepath.Join(cfg.StateDir, "aws"), Addr: gwAddr.addr,
		Domain: "ncp.example.lu", ServerCert: tlsCred.TLSCertificate(), ClientCAs: pool,
		Uploads: awsrun.Uploads{TrustList: pki.FormatTrustList(trust.Entries()), Directory: dir},
		Vars: map[string]cty.Value{
			"national_fhir_base_url": cty.StringVal("http://" + national.BoundAddr() + "/fhir"),
			"identity_issuer_url":    cty.StringVal(cfg.IDIssuer), "identity_audience": cty.StringVal(cfg.IDAudience),
			"api_callers": callers,
		},
		FunctionLog: stderr, Log: log,
	})
	if err != nil {
		return err
	}
	defer g.Close()
	names := make([]string, 0, len(g.Functions))
	for n := range g.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	emu, _ := json.Marshal(map[string]string{"dynamodb": g.Emulators.DynamoDB, "sqs": g.Emulators.SQS, "kms": g.Emulators.KMS, "s3": g.Emulators.S3})
	fmt.Fprintf(stdout, "luxncp is serving on the AWS path (Ctrl-C stops it cleanly)\n")
	fmt.Fprintf(stdout, "  API Gateway front  %s  (mutual TLS against %s; payload 2.0 events)\n", g.URL, filepath.Join(cfg.PKIDir, pki.CAFile))
	fmt.Fprintf(stdout, "    XCPD             %s%s\n", g.URL, ehdsi.PathXCPD)
	fmt.Fprintf(stdout, "  functions          %v  (Lambda Runtime API each; logs prefixed with the name)\n", names)
	fmt.Fprintf(stdout, "  emulators          %s\n", emu)
	fmt.Fprintf(stdout, "  outbox (CLI)       %s luxncp outbox list\n", outboxCLIEnv(g))
	fmt.Fprintf(stdout, "  demo national      http://%s/fhir\n", national.BoundAddr())
	if cfg.IDIssuer != "" {
		fmt.Fprintf(stdout, "  identity provider  %s  (tokens: luxncp token professional|patient|supervisor)\n", cfg.IDIssuer)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "luxncp stopped")
	return nil
}

// outboxCLIEnv is the environment under which 'luxncp outbox' works on the
// emulated DynamoDB outbox and its queue (the AWS outbox's variables, the
// emulators' endpoints and credentials), as a shell prefix.
func outboxCLIEnv(g *awsrun.Gateway) string {
	return fmt.Sprintf("LUXNCP_OUTBOX_TABLE=%s LUXNCP_OUTBOX_QUEUE_URL=%s AWS_ENDPOINT_URL_DYNAMODB=%s AWS_ENDPOINT_URL_SQS=%s "+
		"AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=%s",
		g.Names["outbox_table_name"], g.Names["queue_url"], g.Emulators.DynamoDB, g.Emulators.SQS, awsemu.Region)
}
