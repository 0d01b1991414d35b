package gateway

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// replayModel is the replay index's policy written the plain way: a map of
// ids to expiries; a held id is seen until it expires; a new id is refused
// when max unexpired ids are held. (The index's sweeping schedule is not
// part of the policy: the model drops the expired at every step.)
type replayModel struct{ m map[string]int64 }

func (r *replayModel) seen(id string, t int64) bool {
	exp, ok := r.m[id]
	return ok && t < exp
}

func (r *replayModel) add(id string, exp, t int64, max int) error {
	for k, e := range r.m {
		if t >= e {
			delete(r.m, k)
		}
	}
	if len(r.m) >= max {
		return ErrReplayGuardFull
	}
	r.m[id] = exp
	return nil
}

// TestReplayIndexModel drives the index and the model with the same random
// sightings (ids from a small pool, so that replays, renewals, expiries and
// a full index happen; a clock that moves by seconds to minutes, and now
// and then to the very nanosecond an entry expires) and requires the same
// answer to every sighting and to every add, and the same unexpired
// entries after every step, for bounds from 1 to 200.
func TestReplayIndexModel(t *testing.T) {
	for _, max := range []int{1, 3, 16, 64, 200} {
		t.Run(fmt.Sprint("max ", max), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(max), 19))
			var x replayIndex
			model := &replayModel{m: map[string]int64{}}
			now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
			full := 0
			for step := range 20000 {
				now = now.Add(time.Duration(rng.Int64N(int64(20*time.Minute) / int64(max))))
				if rng.IntN(8) == 0 { // to the nanosecond the soonest entry expires
					soonest := int64(0)
					for _, e := range model.m {
						if e > now.UnixNano() && (soonest == 0 || e < soonest) {
							soonest = e
						}
					}
					if soonest != 0 {
						now = time.Unix(0, soonest).UTC()
					}
				}
				id := fmt.Sprintf("urn:uuid:%d", rng.IntN(4*max+8))
				exp := now.Add(time.Duration(1 + rng.Int64N(int64(30*time.Minute)))).UnixNano()
				key := newReplayKey(id)
				t0 := now.UnixNano()
				got, want := x.seen(key, now), model.seen(id, t0)
				if got != want {
					t.Fatalf("step %d, %s: seen %v, the model says %v", step, id, got, want)
				}
				if !got {
					err, werr := x.add(key, time.Unix(0, exp), now, max), model.add(id, exp, t0, max)
					if !errors.Is(err, werr) {
						t.Fatalf("step %d, %s: add %v, the model says %v", step, id, err, werr)
					}
					if err != nil {
						full++
					}
				}
				live := 0
				for _, e := range x.m {
					if t0 < e {
						live++
					}
				}
				modelLive := 0
				for _, e := range model.m {
					if t0 < e {
						modelLive++
					}
				}
				if live != modelLive || len(x.m) > max {
					t.Fatalf("step %d: %d unexpired of %d held, the model %d, max %d", step, live, len(x.m), modelLive, max)
				}
				for id, e := range model.m {
					if t0 < e && x.m[newReplayKey(id)] != e {
						t.Fatalf("step %d: %s held until %d, the model says %d", step, id, x.m[newReplayKey(id)], e)
					}
				}
			}
			if full == 0 {
				t.Fatal("the index was never full: the test does not reach the bound")
			}
			t.Logf("%d of 20000 new ids refused by a full index", full)
		})
	}
}
