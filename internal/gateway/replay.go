package gateway

import (
	"container/heap"
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

// DefaultReplayMax bounds the MessageIDs a local guard keeps.
const DefaultReplayMax = 100000

// MemoryReplayGuard is the in-process ReplayGuard: bounded, swept lazily.
// It forgets on restart: nodes use the FileReplayGuard locally and the
// DynamoReplayGuard on AWS; this one serves tests and simulated peers.
type MemoryReplayGuard struct {
	// Max bounds the entries kept (default DefaultReplayMax); when full,
	// the entries closest to expiry are dropped first.
	Max int
	// Now is the clock (nil: the system clock).
	Now func() time.Time

	mu  sync.Mutex
	idx replayIndex
}

// Seen implements ReplayGuard.
func (g *MemoryReplayGuard) Seen(ctx context.Context, id string, expiry time.Time) (bool, error) {
	t := clock.Or(g.Now)()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.idx.seen(id, t) {
		return true, nil
	}
	g.idx.add(id, expiry, t, g.Max)
	return false, nil
}

// replayIndex is a bounded set of ids with expiries: a map, and a min-heap
// on expiry for sweeping the expired and evicting the nearest-expiry
// entries when full. Heap items whose id was renewed since are stale and
// skipped.
type replayIndex struct {
	m map[string]time.Time
	h expiryHeap
}

type expiring struct {
	id  string
	exp time.Time
}

type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// seen reports whether id is held and not expired at now.
func (x *replayIndex) seen(id string, now time.Time) bool {
	exp, ok := x.m[id]
	return ok && now.Before(exp)
}

// add holds id until exp, sweeping what expired by now and, beyond max
// (0: DefaultReplayMax) entries, evicting those nearest to expiry.
func (x *replayIndex) add(id string, exp, now time.Time, max int) {
	if max <= 0 {
		max = DefaultReplayMax
	}
	if x.m == nil {
		x.m = map[string]time.Time{}
	}
	for x.h.Len() > 0 && !now.Before(x.h[0].exp) {
		x.pop()
	}
	for len(x.m) >= max && x.h.Len() > 0 {
		x.pop()
	}
	x.m[id] = exp
	heap.Push(&x.h, expiring{id: id, exp: exp})
	if x.h.Len() > 2*max+16 {
		// Too many stale heap items: rebuild from the map.
		x.h = x.h[:0]
		for k, e := range x.m {
			x.h = append(x.h, expiring{id: k, exp: e})
		}
		heap.Init(&x.h)
	}
}

// pop removes the heap's first item, and its id when the item is current.
func (x *replayIndex) pop() {
	it := heap.Pop(&x.h).(expiring)
	if e, ok := x.m[it.id]; ok && e.Equal(it.exp) {
		delete(x.m, it.id)
	}
}

// each calls f for every live entry at now.
func (x *replayIndex) each(now time.Time, f func(id string, exp time.Time)) {
	for id, exp := range x.m {
		if now.Before(exp) {
			f(id, exp)
		}
	}
}
