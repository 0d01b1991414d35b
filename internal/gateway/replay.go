package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// ReplayGuard remembers the WS-Addressing MessageIDs it has seen, so that a
// captured request sent again is refused. Partners give every message a
// fresh MessageID; an idempotent resubmission (XDR) is a new message with
// the same document id, which the transaction itself recognises.
type ReplayGuard interface {
	// Seen records id until expiry and reports whether it was already there.
	Seen(ctx context.Context, id string, expiry time.Time) (bool, error)
}

// MemoryReplayGuard is the in-process ReplayGuard: bounded, swept lazily.
// On AWS Lambda it covers one instance; the shared twin is a DynamoDB
// conditional put on the same key.
type MemoryReplayGuard struct {
	// Max bounds the entries kept (default 100000); when full, the entries
	// closest to expiry are dropped first.
	Max int
	// Now is the clock (nil: the system clock).
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

// Seen implements ReplayGuard.
func (g *MemoryReplayGuard) Seen(ctx context.Context, id string, expiry time.Time) (bool, error) {
	now := clock.Or(g.Now)
	t := now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	if exp, ok := g.seen[id]; ok && t.Before(exp) {
		return true, nil
	}
	max := g.Max
	if max <= 0 {
		max = 100000
	}
	if len(g.seen) >= max {
		for k, exp := range g.seen {
			if !t.Before(exp) {
				delete(g.seen, k)
			}
		}
		for k := range g.seen {
			if len(g.seen) < max {
				break
			}
			delete(g.seen, k)
		}
	}
	g.seen[id] = expiry
	return false, nil
}
