package gateway

import (
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
	key := newReplayKey(id)
	if g.idx.seen(key, t) {
		return true, nil
	}
	g.idx.add(key, expiry, t, g.Max)
	return false, nil
}

// replayKey is the first 16 bytes of a MessageID's SHA-256: ids are the
// partner's text, hashing bounds and neutralises them, and a small fixed
// key keeps an entry small (a full guard holds DefaultReplayMax of them).
// 128 bits: two ids collide by chance with odds of 1 in 10^29 for a full
// guard, and a collision found on purpose (2^64 work) would only make the
// finder's own second message look like a replay.
type replayKey [16]byte

func newReplayKey(id string) replayKey {
	sum := sha256.Sum256([]byte(id))
	return replayKey(sum[:16])
}

// replaySweepEvery is how often an index that is not full drops its
// expired entries (a scan of the map).
const replaySweepEvery = time.Minute

// replayIndex is a bounded set of ids with expiries, one map and nothing
// else: expiries are Unix nanoseconds and keys fixed-size, so an entry
// holds no pointer and a full index costs ≈ 40 bytes an id with nothing
// for the collector to scan (hex string keys, time.Time values and an
// expiry heap beside the map were ≈ 175; TestReplayGuardMemory). Expired
// entries are dropped by a scan once a minute and whenever the index is
// full; a full index then evicts the entries nearest to expiry, a
// sixteenth of max at once, so the scans cost O(1) an id amortised.
type replayIndex struct {
	m       map[replayKey]int64
	sweptAt int64
}

// seen reports whether key is held and not expired at now.
func (x *replayIndex) seen(key replayKey, now time.Time) bool {
	exp, ok := x.m[key]
	return ok && now.UnixNano() < exp
}

// add holds key until expiry, dropping what expired by now and, beyond
// max (0: DefaultReplayMax) entries, evicting those nearest to expiry.
func (x *replayIndex) add(key replayKey, expiry, now time.Time, max int) {
	if max <= 0 {
		max = DefaultReplayMax
	}
	if x.m == nil {
		x.m = map[replayKey]int64{}
	}
	t := now.UnixNano()
	if _, renewed := x.m[key]; !renewed && (len(x.m) >= max || t-x.sweptAt >= int64(replaySweepEvery)) {
		x.sweep(t)
		if n := len(x.m) - max + 1; n > 0 {
			x.evict(n + max/16)
		}
	}
	x.m[key] = expiry.UnixNano()
}

// sweep drops the entries expired at t.
func (x *replayIndex) sweep(t int64) {
	for k, exp := range x.m {
		if t >= exp {
			delete(x.m, k)
		}
	}
	x.sweptAt = t
}

// evict drops the n entries nearest to expiry (all of them if fewer).
func (x *replayIndex) evict(n int) {
	if n >= len(x.m) {
		clear(x.m)
		return
	}
	exps := make([]int64, 0, len(x.m))
	for _, exp := range x.m {
		exps = append(exps, exp)
	}
	limit := nthSmallest(exps, n-1) // the n-th nearest expiry
	ties := n
	for _, exp := range exps[:n] {
		if exp < limit {
			ties--
		}
	}
	for k, exp := range x.m {
		switch {
		case exp < limit:
			delete(x.m, k)
		case exp == limit && ties > 0:
			delete(x.m, k)
			ties--
		}
	}
}

// nthSmallest returns the value that would be at index k were a sorted,
// and leaves a partitioned around it (a[:k] ≤ a[k] ≤ a[k+1:]): Hoare's
// selection, expected linear time.
func nthSmallest(a []int64, k int) int64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		pivot := a[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
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
