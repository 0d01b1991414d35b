package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
)

// checkLuxncpTarget makes sure, before a suite or a load runs, that target
// is the luxncp gateway of this state directory and not whatever else
// listens there: something answers, its certificate chains to caFile, and
// its /healthz says luxncp.
func checkLuxncpTarget(ctx context.Context, target, caFile string) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return badUsage("--target: %q is not a URL like https://127.0.0.1:8443", target)
	}
	hostPort := u.Host
	if u.Port() == "" {
		hostPort = net.JoinHostPort(u.Hostname(), "443")
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", hostPort)
	if err != nil {
		return fmt.Errorf("no luxncp gateway answers at %s (%w); start it with make run ADDR=%s (or luxncp serve --addr %s)", hostPort, err, hostPort, hostPort)
	}
	conn.Close()
	cas, err := pki.ReadCertificates(caFile)
	if err != nil {
		return fmt.Errorf("CA of the gateway to test: %w", err)
	}
	health, err := getHealth(ctx, u.Scheme+"://"+u.Host+"/healthz", cas)
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknownCA):
		err = fmt.Errorf("its certificate does not chain to %s (another luxncp, with another state directory?)", caFile)
	case err != nil:
	case health.Service != "luxncp":
		err = fmt.Errorf("its /healthz says %q, not luxncp", health.Service)
	default:
		return nil
	}
	free := freeAddr(hostPort)
	return fmt.Errorf("%s is not the luxncp gateway to test: %w; start yours on a free address (make run ADDR=%s) and point make conformance or make load at it (ADDR=%s)", hostPort, err, free, free)
}

// healthz is what a luxncp gateway's /healthz says.
type healthz struct {
	Status  string `json:"status"`
	Service string `json:"service"`
}

// getHealth fetches /healthz, trusting only cas (no client certificate).
func getHealth(ctx context.Context, url string, cas []*x509.Certificate) (*healthz, error) {
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Time: clock.System()},
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("its /healthz answers HTTP %d (a luxncp gateway answers 200)", resp.StatusCode)
	}
	var h healthz
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&h); err != nil {
		return nil, fmt.Errorf("its /healthz is not luxncp's JSON: %w", err)
	}
	return &h, nil
}
