package smp

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/luxncp/luxncp/internal/routing"
)

// Local is the SML and SMP pair luxncp serve and the tests run on
// loopback in place of the eHDSI ones: a DNS server answering U-NAPTR
// records for the zone and an HTTP SMP every registered participant
// points at.
type Local struct {
	SML *SML
	SMP *Server
	// URL is the SMP's base URL (http://127.0.0.1:<port>/).
	URL string

	srv *http.Server
	ln  net.Listener
}

// StartLocal starts both on free loopback ports (dnsAddr / smpAddr, e.g.
// 127.0.0.1:0). The SMP keeps what is published in dir (empty: memory).
func StartLocal(zone, dnsAddr, smpAddr string, v Verifier, dir string) (*Local, error) {
	l := &Local{SML: &SML{Zone: zone}, SMP: &Server{Verifier: v, Dir: dir}}
	if err := l.SMP.Load(); err != nil {
		return nil, fmt.Errorf("local smp: %w", err)
	}
	ln, err := net.Listen("tcp", smpAddr)
	if err != nil {
		return nil, fmt.Errorf("local smp: %w", err)
	}
	if err := l.SML.Start(dnsAddr); err != nil {
		ln.Close()
		return nil, err
	}
	l.ln = ln
	l.URL = "http://" + ln.Addr().String() + "/"
	l.srv = &http.Server{Handler: l.SMP, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// Locator returns the locator that asks this SML.
func (l *Local) Locator() Locator { return Locator{Zone: l.SML.Zone, Server: l.SML.Addr()} }

// Publish signs a country's metadata (Publication) with key/cert, stores
// it through the SMP's checked path and registers the participant in the
// SML.
func (l *Local) Publish(c routing.Country, key crypto.Signer, cert *x509.Certificate, from, until time.Time) error {
	participant := Participant(c.Code)
	for _, m := range Publication(c, from, until, "") {
		b, err := Sign(m, key, cert)
		if err != nil {
			return err
		}
		if err := l.SMP.Put(participant, m.DocumentID, b); err != nil {
			return fmt.Errorf("publish %s %s: %w", c.Code, m.DocumentID, err)
		}
	}
	l.SML.Register(participant, l.URL)
	return nil
}

// Close stops both servers.
func (l *Local) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return errors.Join(l.srv.Shutdown(ctx), l.SML.Close())
}
