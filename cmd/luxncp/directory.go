package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"crypto/tls"

	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
)

const directoryUsage = `Usage:
  luxncp directory list  [--file var/directory.json]
  luxncp directory check [--file var/directory.json] [--timeout 5s]
list shows the country directory (countries, endpoints, certificates); check
probes every endpoint.
`

// runDirectory shows the country directory and probes its endpoints.
func runDirectory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		fmt.Fprint(stdout, directoryUsage)
		return nil
	}
	if args[0] != "list" && args[0] != "check" {
		return badUsage("unknown directory command %q (list, check)", args[0])
	}
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	cfg = cfg.Defaults()
	fs := newFlagSet("directory "+args[0], directoryUsage, stderr)
	file := fs.String("file", envOr("LUXNCP_DIRECTORY", filepath.Join(cfg.StateDir, "directory.json")), "directory file (env LUXNCP_DIRECTORY)")
	timeout := fs.Duration("timeout", 5*time.Second, "per-endpoint probe timeout")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	dir, err := routing.LoadFile(*file)
	if err != nil {
		return err
	}
	countries, err := dir.Countries(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if args[0] == "list" {
		fmt.Fprintln(tw, "COUNTRY\tPARTICIPANT\tTRANSACTION\tURL\tCERTIFICATE\tVALID UNTIL")
		for _, c := range countries {
			for _, e := range c.Endpoints {
				cert := e.Cert()
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Code, c.Participant, e.Transaction, e.URL, cert.Subject.CommonName, cert.NotAfter.UTC().Format("2006-01-02"))
			}
		}
		return tw.Flush()
	}
	trust, err := pki.LoadTrustStore(cfg.TrustBundle)
	if err != nil {
		return err
	}
	cred, err := pki.LoadCredential(cfg.PKIDir, "lu", pki.KindTLS)
	if err != nil {
		return err
	}
	failed := 0
	fmt.Fprintln(tw, "COUNTRY\tTRANSACTION\tRESULT\tDETAIL")
	for _, c := range countries {
		for _, e := range c.Endpoints {
			res, detail := probe(ctx, c, e, cred.TLSCertificate(), trust, *timeout)
			if res != "ok" {
				failed++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Code, e.Transaction, res, detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d endpoint(s) failed the check", failed)
	}
	return nil
}

// probe opens a mutual-TLS connection to an endpoint and checks that it
// presents the directory's certificate, trusted, for the right country.
// It sends no eHDSI message (no patient data, nothing to audit).
func probe(ctx context.Context, c routing.Country, e routing.Endpoint, cert tls.Certificate, trust *pki.TrustStore, timeout time.Duration) (string, string) {
	u, err := url.Parse(e.URL)
	if err != nil {
		return "bad-url", err.Error()
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "443")
	}
	var why string
	conf := &tls.Config{Time: clock.System(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, //nolint:gosec // checked below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				why = "no certificate presented"
				return errors.New(why)
			}
			leaf := cs.PeerCertificates[0]
			if !leaf.Equal(e.Cert()) {
				why = "the certificate is not the directory's"
				return errors.New(why)
			}
			cc, err := trust.Verify(leaf, cs.PeerCertificates[1:], clock.Now(), pki.UseTLSServer)
			if err != nil {
				why = err.Error()
				return err
			}
			if !strings.EqualFold(cc, c.Code) {
				why = "the certificate names " + cc
				return errors.New(why)
			}
			return nil
		}}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: conf}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := clock.Now()
	conn, err := d.DialContext(cctx, "tcp", hostport)
	if err != nil {
		if why != "" {
			return "untrusted", why
		}
		return "unreachable", err.Error()
	}
	defer conn.Close()
	// An HTTP GET of the service path: any HTTP answer means it is up.
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, e.URL, nil)
	tr := &http.Transport{DialTLSContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}
	res, err := (&http.Client{Transport: tr, Timeout: timeout}).Do(req)
	if err != nil {
		return "no-http", err.Error()
	}
	res.Body.Close()
	return "ok", fmt.Sprintf("HTTP %d in %d ms", res.StatusCode, clock.Now().Sub(start).Milliseconds())
}
