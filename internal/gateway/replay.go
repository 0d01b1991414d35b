package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
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

// DefaultReplayMax bounds the MessageIDs a local guard keeps (node:
// LUXNCP_REPLAY_MAX). An id is held while its HCP assertion is valid, so a
// guard holds the requests of one assertion lifetime: 900,000 is 62
// requests a second under 4-hour assertions, or 250 under 1-hour ones. A
// full guard refuses new messages (ErrReplayGuardFull): it never forgets a
// MessageID whose assertion is still valid, which would let that message
// be replayed. 900,000 keeps the map below a doubling of its table:
// ≈ 36 MB (TestReplayGuardFullMemory).
const DefaultReplayMax = 900_000

// ErrReplayGuardFull is the error of Seen on a local guard that holds Max
// unexpired MessageIDs: the message is refused (a transient receiver
// fault; it can be sent again once ids expire) rather than an unexpired id
// forgotten.
var ErrReplayGuardFull = errors.New("replay guard full: every MessageID it holds is still within its assertion's validity")

// MemoryReplayGuard is the in-process ReplayGuard: bounded, swept lazily.
// It forgets on restart: nodes use the FileReplayGuard locally and the
// DynamoReplayGuard on AWS; this one serves tests and simulated peers.
type MemoryReplayGuard struct {
	// Max bounds the entries kept (default DefaultReplayMax); when every
	// entry is unexpired, a new id is refused with ErrReplayGuardFull.
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
	return false, g.idx.add(key, expiry, t, g.Max)
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
// holds no pointer and a full index costs ≈ 35 bytes an id with nothing
// for the collector to scan (hex string keys, time.Time values and an
// expiry heap beside the map were ≈ 175; TestReplayGuardMemory). Expired
// entries are dropped by a scan once a minute, and when the index is full
// and its nearest expiry has passed; an index still full refuses a new id
// (without a scan until an entry can have expired).
type replayIndex struct {
	m       map[replayKey]int64
	sweptAt int64
	// soonest is the nearest expiry held (a lower bound: ids renewed or
	// added since the last sweep may expire sooner, never later): a full
	// index scans again only once something can have expired.
	soonest int64
}

// seen reports whether key is held and not expired at now.
func (x *replayIndex) seen(key replayKey, now time.Time) bool {
	exp, ok := x.m[key]
	return ok && now.UnixNano() < exp
}

// add holds key until expiry, first dropping what expired by now when a
// minute has passed since the last sweep or the index holds max (0:
// DefaultReplayMax) entries; ErrReplayGuardFull if it still does. A key
// held but expired is renewed in place.
func (x *replayIndex) add(key replayKey, expiry, now time.Time, max int) error {
	if max <= 0 {
		max = DefaultReplayMax
	}
	if x.m == nil {
		x.m = map[replayKey]int64{}
	}
	exp := expiry.UnixNano()
	if _, renewed := x.m[key]; !renewed {
		t := now.UnixNano()
		if len(x.m) >= max && t >= x.soonest || t-x.sweptAt >= int64(replaySweepEvery) {
			x.sweep(t)
		}
		if len(x.m) >= max {
			return ErrReplayGuardFull
		}
	}
	if len(x.m) == 0 || exp < x.soonest {
		x.soonest = exp
	}
	x.m[key] = exp
	return nil
}

// sweep drops the entries expired at t.
func (x *replayIndex) sweep(t int64) {
	x.soonest = math.MaxInt64
	for k, exp := range x.m {
		if t >= exp {
			delete(x.m, k)
		} else if exp < x.soonest {
			x.soonest = exp
		}
	}
	x.sweptAt = t
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
