package syslogtls

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/audit"
)

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "arr.test"},
		NotBefore: clock.Now().Add(-time.Hour), NotAfter: clock.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// readFrame reads one octet-counted frame.
func readFrame(r *bufio.Reader) (string, error) {
	n, err := r.ReadString(' ')
	if err != nil {
		return "", err
	}
	size, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return "", err
	}
	buf := make([]byte, size)
	_, err = io.ReadFull(r, buf)
	return string(buf), err
}

func TestForwarder(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Time: clock.System(), Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					m, err := readFrame(r)
					if err != nil {
						return
					}
					got <- m
				}
			}()
		}
	}()
	f := &Forwarder{Addr: ln.Addr().String(), TLS: &tls.Config{Time: clock.System(), RootCAs: pool}, Hostname: "ncp.lu.test"}
	defer f.Close()
	rec := audit.Record{ID: "x", Event: audit.Event{Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}, Message: "<AuditMessage>é</AuditMessage>"}
	for i := 0; i < 2; i++ {
		if err := f.Write(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			want := "<85>1 2026-11-24T10:00:00.000Z ncp.lu.test luxncp - IHE+RFC-3881 - <AuditMessage>é</AuditMessage>"
			if m != want {
				t.Fatalf("got %q\nwant %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing received")
		}
		f.conn.Close() // the collector drops the connection: the next write reconnects
	}
}

func TestForwarderUnreachable(t *testing.T) {
	f := &Forwarder{Addr: "127.0.0.1:1", TLS: &tls.Config{Time: clock.System()}, Timeout: time.Second}
	if err := f.Write(context.Background(), audit.Record{}); err == nil {
		t.Fatal("no error")
	}
}
