package host

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/luxncp/luxncp/internal/pki"
)

// Peer is the calling gateway as the transport saw it. The certificates are
// as presented: verify them with Verify before trusting anything.
type Peer struct {
	Certs      []*x509.Certificate // leaf first; empty when no client certificate
	RemoteAddr string
	// Host names which host accepted the request: "local" or "lambda".
	Host string
}

type peerKey struct{}

// WithPeer returns ctx carrying p.
func WithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFrom returns the peer of a request context.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// Verify checks the peer's client certificate against the trust store and
// returns its country (C=).
func (p Peer) Verify(ts *pki.TrustStore, now time.Time) (string, error) {
	if len(p.Certs) == 0 {
		return "", ErrNoClientCert
	}
	return ts.Verify(p.Certs[0], p.Certs[1:], now, pki.UseTLSClient)
}

// ErrNoClientCert: the request came without a client certificate.
var ErrNoClientCert = errNoClientCert{}

type errNoClientCert struct{}

func (errNoClientCert) Error() string { return "no client certificate presented" }
