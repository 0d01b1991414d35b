package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/luxncp/luxncp/internal/node"
)

const nationalUsage = `Usage:
  luxncp national [--addr 127.0.0.1:8081] [--state-dir var]
Runs the demo national backend (FHIR R4, state under <state-dir>/national)
and the development identity provider alone, in their own process, until
Ctrl-C (SIGINT) or SIGTERM. A gateway started with
LUXNCP_NATIONAL_URL=http://<addr>/fhir luxncp serve … then uses it instead of
starting its own: the national system can be stopped, paused (SIGSTOP) and
resumed (SIGCONT) apart from the gateway, as scripts/chaos-edispensation does.
`

func runNational(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	fs := newFlagSet("national", nationalUsage, stderr)
	stateDir := fs.String("state-dir", cfg.StateDir, "state directory: the demo national state goes under <state-dir>/national (env LUXNCP_STATE_DIR)")
	addr := fs.String("addr", envOr("LUXNCP_DEMO_NATIONAL_ADDR", "127.0.0.1:8081"), "address (env LUXNCP_DEMO_NATIONAL_ADDR)")
	logLevel := fs.String("log-level", cfg.LogLevel, "debug | info | warn | error (env LUXNCP_LOG_LEVEL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return badUsage("unexpected argument %q", fs.Arg(0))
	}
	a := addrFlag{*addr, "--addr", "NATIONAL_ADDR"}
	if err := a.checkFree(); err != nil {
		return err
	}
	if *stateDir != "" {
		cfg.StateDir = *stateDir
	}
	cfg.LogLevel = *logLevel
	cfg = cfg.Defaults()
	log := node.NewLogger(cfg.LogLevel, stderr)
	s, closeBackend, err := demoNational(&cfg, a.addr, log)
	if err != nil {
		return err
	}
	defer closeBackend()
	if err := s.Listen(); err != nil {
		return a.listenError(err)
	}
	fmt.Fprintf(stdout, "luxncp national is serving (Ctrl-C stops it cleanly)\n")
	fmt.Fprintf(stdout, "  demo national backend http://%s/fhir\n", s.BoundAddr())
	fmt.Fprintf(stdout, "  identity provider  %s\n", cfg.IDIssuer)
	fmt.Fprintf(stdout, "  state              %s\n", cfg.StateDir)
	if err := s.Serve(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, "luxncp national stopped")
	return nil
}
