// Package syslogtls forwards audit records to an IHE ATNA audit record
// repository as RFC 5424 syslog messages over TLS (RFC 5425, octet-counted
// framing), as OpenNCP nodes do: PRI 85 (facility authpriv, severity
// notice), APP-NAME luxncp, MSGID IHE+RFC-3881, MSG the AuditMessage XML.
//
// A forwarder is a copy for the repository, not the system of record: it
// keeps no buffer, and a record it could not send is an error returned to
// the caller (the local chain or S3 holds the record).
package syslogtls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/audit"
)

// Forwarder is an audit.Sink that sends each record to a syslog-TLS
// collector over one persistent connection, reconnecting once on failure.
type Forwarder struct {
	// Addr is host:port of the audit record repository (usually port 6514).
	Addr string
	// TLS is the client configuration (mutual TLS with luxncp's certificate).
	TLS *tls.Config
	// Hostname is the HOSTNAME field (default: the local host name).
	Hostname string
	// Timeout bounds dial and write (default 5s).
	Timeout time.Duration

	mu   sync.Mutex
	conn net.Conn
}

var _ audit.Sink = (*Forwarder)(nil)

// Frame is the RFC 5425 frame of r: MSG-LEN SP SYSLOG-MSG.
func Frame(r audit.Record, hostname string) []byte {
	if hostname == "" {
		hostname = "-"
	}
	msg := "<85>1 " + r.Event.Time.UTC().Format("2006-01-02T15:04:05.000Z") + " " + hostname +
		" luxncp - IHE+RFC-3881 - " + r.Message
	return []byte(strconv.Itoa(len(msg)) + " " + msg)
}

// Write sends r and returns once it is written to the connection.
func (f *Forwarder) Write(ctx context.Context, r audit.Record) error {
	host := f.Hostname
	if host == "" {
		host = hostname()
	}
	frame := Frame(r, host)
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if f.conn == nil {
			if f.conn, err = f.dial(ctx); err != nil {
				continue
			}
		}
		f.conn.SetWriteDeadline(clock.IODeadline(f.timeout()))
		if _, err = f.conn.Write(frame); err == nil {
			return nil
		}
		f.conn.Close()
		f.conn = nil
	}
	return fmt.Errorf("audit syslog %s: %w", f.Addr, err)
}

// Close closes the connection.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn == nil {
		return nil
	}
	err := f.conn.Close()
	f.conn = nil
	return err
}

func (f *Forwarder) dial(ctx context.Context) (net.Conn, error) {
	if f.TLS == nil {
		return nil, errors.New("no TLS configuration")
	}
	conf := f.TLS
	if conf.Time == nil {
		// The collector's certificate is checked on luxncp's clock, like
		// every other certificate.
		conf = conf.Clone()
		conf.Time = clock.System()
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: f.timeout()}, Config: conf}
	return d.DialContext(ctx, "tcp", f.Addr)
}

func (f *Forwarder) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return 5 * time.Second
}
