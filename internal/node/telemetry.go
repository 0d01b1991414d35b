package node

import (
	"path/filepath"
	"strings"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/telemetry"
)

// observe hands the gateway to t (nil: nothing observed) and exports the
// node's gauges: the national breaker, the outbox, and the days to expiry
// of luxncp's own seal and TLS certificates (those of the PKI directory,
// when there) and of every trust-list entry.
func (n *Node) observe(t *telemetry.Telemetry, breaker *national.Breaker) {
	if t == nil {
		return
	}
	n.tel = t
	n.Gateway.Observe = t
	t.WatchBreaker(breaker)
	t.WatchOutbox(n.Outbox)
	var own []telemetry.Own
	for _, k := range []pki.Kind{pki.KindSeal, pki.KindTLS} {
		// The certificate only: the key stays unread.
		if cs, err := pki.ReadCertificates(filepath.Join(n.Cfg.PKIDir, pki.CertFile(strings.ToLower(n.Cfg.Country), k))); err == nil {
			own = append(own, telemetry.Own{Role: pki.Role(k), Cert: cs[0]})
		}
	}
	t.WatchCertificates(n.Cfg.Country, own, n.Trust)
	t.WatchTrustList(n.Trust)
}

// observeDispatcher has t (nil: nothing) observe d's deliveries and their
// national calls.
func observeDispatcher(d *outbox.Dispatcher, t *telemetry.Telemetry) {
	if t == nil {
		return
	}
	d.Observe = t
	if s, ok := d.National.(national.Source); ok {
		d.National = t.Source(s)
	}
}
