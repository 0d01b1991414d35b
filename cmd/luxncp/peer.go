package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
)

const peerUsage = `Usage:
  luxncp peer --country FR [--addr 127.0.0.1:0] [--fail slow|5xx|fault|badsig|expired|untrusted|wrongcountry|malformed]
  luxncp peer --country FR [--fail padded|longtext|script|unsigned|wrapped|substitute|bidi]
Serves one simulated national contact point (XCPD, XCA, XDR at the OpenNCP
paths) until interrupted, after printing its country directory entry. The
second set of modes is a hostile neighbour that keeps its pinned certificate
but tampers with its replies (docs/hostile-peer.md).
`

// runPeer serves one simulated national contact point until ctx ends.
func runPeer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	fs := newFlagSet("peer", peerUsage, stderr)
	country := fs.String("country", "", "country of the simulated contact point: "+strings.Join(peer.CountryCodes, ", "))
	addr := fs.String("addr", "127.0.0.1:0", "HTTPS listen address")
	fail := fs.String("fail", "", "failure mode: slow, 5xx, fault, badsig, expired, untrusted, wrongcountry, malformed; hostile: padded, longtext, script, unsigned, wrapped, substitute, bidi")
	slow := fs.Duration("slow-delay", 60*time.Second, "how long a slow peer waits before answering")
	stateDir := fs.String("state-dir", cfg.StateDir, "state directory holding the dev PKI (env LUXNCP_STATE_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *stateDir != cfg.StateDir {
		cfg.StateDir, cfg.PKIDir = *stateDir, ""
	}
	cfg = cfg.Defaults()
	if *country == "" {
		return badUsage("--country is required (%s)", strings.Join(peer.CountryCodes, ", "))
	}
	mode, err := peer.ParseMode(*fail)
	if err != nil {
		return err
	}
	if _, err := pki.EnsureDev(cfg.PKIDir, pki.DevOptions{}); err != nil {
		return err
	}
	log := node.NewLogger(cfg.LogLevel, stderr)
	p, err := peer.New(peer.Options{Country: *country, PKIDir: cfg.PKIDir, Fail: mode, SlowDelay: *slow, Log: log})
	if err != nil {
		return err
	}
	srv := &host.Server{Name: "peer " + p.Country(), Addr: *addr, Handler: p.Handler(), TLS: p.TLSConfig(), Log: log}
	if err := srv.Listen(); err != nil {
		return err
	}
	entry := p.DirectoryEntry("https://" + srv.BoundAddr())
	b, _ := json.MarshalIndent(entry, "", "  ")
	fmt.Fprintf(stdout, "simulated NCP %s (%s) listening on https://%s", p.Country(), p.Profile.Name, srv.BoundAddr())
	if mode != peer.ModeNone {
		fmt.Fprintf(stdout, " — failure mode %s", mode)
	}
	fmt.Fprintf(stdout, "\ndirectory entry:\n%s\n", b)
	log.Info("peer started", slog.String("country", p.Country()), slog.String("addr", srv.BoundAddr()), slog.String("fail", string(mode)))
	return srv.Serve(ctx)
}
