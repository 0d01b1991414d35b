package gateway

import (
	"container/heap"
	"context"
	"crypto/sha256"
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
	key := replayKey(sha256.Sum256([]byte(id)))
	if g.idx.seen(key, t) {
		return true, nil
	}
	g.idx.add(key, expiry, t, g.Max)
	return false, nil
}

// replayKey is the SHA-256 of a MessageID: ids are the partner's text,
// hashing bounds and neutralises them, and a fixed-size key keeps an
// entry small (a full guard holds DefaultReplayMax of them).
type replayKey [sha256.Size]byte

// replayIndex is a bounded set of ids with expiries: a map, and a min-heap
// on expiry for sweeping the expired and evicting the nearest-expiry
// entries when full. Heap items whose id was renewed since are stale and
// skipped. Expiries are Unix nanoseconds: with fixed-size keys an entry
// holds no pointer, so a full index costs ≈ 110 bytes an id and nothing
// for the collector to scan (hex string keys and time.Time values: ≈ 175;
// TestReplayGuardMemory).
type replayIndex struct {
	m map[replayKey]int64
	h expiryHeap
}

type expiring struct {
	key replayKey
	exp int64
}

type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// seen reports whether key is held and not expired at now.
func (x *replayIndex) seen(key replayKey, now time.Time) bool {
	exp, ok := x.m[key]
	return ok && now.UnixNano() < exp
}

// add holds id until exp, sweeping what expired by now and, beyond max
// (0: DefaultReplayMax) entries, evicting those nearest to expiry.
func (x *replayIndex) add(key replayKey, expiry, now time.Time, max int) {
	if max <= 0 {
		max = DefaultReplayMax
	}
	if x.m == nil {
		x.m = map[replayKey]int64{}
	}
	t, exp := now.UnixNano(), expiry.UnixNano()
	for x.h.Len() > 0 && t >= x.h[0].exp {
		x.pop()
	}
	for len(x.m) >= max && x.h.Len() > 0 {
		x.pop()
	}
	x.m[key] = exp
	heap.Push(&x.h, expiring{key: key, exp: exp})
	if x.h.Len() > 2*max+16 {
		// Too many stale heap items: rebuild from the map.
		x.h = x.h[:0]
		for k, e := range x.m {
			x.h = append(x.h, expiring{key: k, exp: e})
		}
		heap.Init(&x.h)
	}
}

// pop removes the heap's first item, and its id when the item is current.
func (x *replayIndex) pop() {
	it := heap.Pop(&x.h).(expiring)
	if e, ok := x.m[it.key]; ok && e == it.exp {
		delete(x.m, it.key)
	}
}

// each calls f for every live entry at now.
func (x *replayIndex) each(now time.Time, f func(key replayKey, exp int64)) {
	t := now.UnixNano()
	for key, exp := range x.m {
		if t < exp {
			f(key, exp)
		}
	}
}
