package gateway

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// replayModel is the replay index's policy written the plain way: a map of
// ids to expiries; on a new id, every minute or when full, the expired are
// dropped, and a full model drops the entries nearest to expiry (one more
// than the excess, plus a sixteenth of max) by sorting them.
type replayModel struct {
	m       map[string]int64
	sweptAt int64
}

func (r *replayModel) seen(id string, t int64) bool {
	exp, ok := r.m[id]
	return ok && t < exp
}

func (r *replayModel) add(id string, exp, t int64, max int) {
	if _, ok := r.m[id]; !ok && (len(r.m) >= max || t-r.sweptAt >= int64(replaySweepEvery)) {
		for k, e := range r.m {
			if t >= e {
				delete(r.m, k)
			}
		}
		r.sweptAt = t
		if n := len(r.m) - max + 1; n > 0 {
			ids := make([]string, 0, len(r.m))
			for k := range r.m {
				ids = append(ids, k)
			}
			sort.Slice(ids, func(i, j int) bool { return r.m[ids[i]] < r.m[ids[j]] })
			for _, k := range ids[:min(n+max/16, len(ids))] {
				delete(r.m, k)
			}
		}
	}
	r.m[id] = exp
}

// TestReplayIndexModel drives the index and the model with the same random
// sightings (ids from a small pool, so that replays, renewals and expiries
// happen; a clock that moves by seconds to minutes; distinct expiries, so
// that "nearest to expiry" names one entry) and requires the same answer
// to every sighting and the same entries after every step, for bounds
// from 1 (every new id evicts) to 200 (batch evictions of 12).
func TestReplayIndexModel(t *testing.T) {
	for _, max := range []int{1, 3, 16, 17, 64, 200} {
		t.Run(fmt.Sprint("max ", max), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(max), 19))
			var x replayIndex
			model := &replayModel{m: map[string]int64{}}
			now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
			used := map[int64]bool{}
			for step := range 20000 {
				now = now.Add(time.Duration(rng.IntN(int(90 * time.Second))))
				if rng.IntN(8) == 0 { // to the very nanosecond an entry expires
					for _, e := range model.m {
						if e > now.UnixNano() {
							now = time.Unix(0, e).UTC()
							break
						}
					}
				}
				id := fmt.Sprintf("urn:uuid:%d", rng.IntN(4*max+8))
				var exp int64
				for exp == 0 || used[exp] {
					exp = now.Add(time.Duration(rng.Int64N(int64(30 * time.Minute)))).UnixNano()
				}
				used[exp] = true
				key := newReplayKey(id)
				got, want := x.seen(key, now), model.seen(id, now.UnixNano())
				if got != want {
					t.Fatalf("step %d, %s: seen %v, the model says %v", step, id, got, want)
				}
				if !got {
					x.add(key, time.Unix(0, exp), now, max)
					model.add(id, exp, now.UnixNano(), max)
				}
				if len(x.m) != len(model.m) || len(x.m) > max {
					t.Fatalf("step %d: %d entries, the model %d, max %d", step, len(x.m), len(model.m), max)
				}
				for id, e := range model.m {
					if x.m[newReplayKey(id)] != e {
						t.Fatalf("step %d: %s held until %d, the model says %d", step, id, x.m[newReplayKey(id)], e)
					}
				}
			}
		})
	}
}

// TestReplayIndexEvictTies: entries with the same expiry are evicted one
// by one, exactly as many as asked, never one with a later expiry.
func TestReplayIndexEvictTies(t *testing.T) {
	for n := 1; n <= 5; n++ {
		x := replayIndex{m: map[replayKey]int64{}}
		exps := []int64{5, 5, 5, 7, 9}
		for i, e := range exps {
			x.m[newReplayKey(fmt.Sprint(i))] = e
		}
		x.evict(n)
		left := map[int64]int{}
		for _, e := range x.m {
			left[e]++
		}
		want := map[int64]int{5: max(0, 3-n), 7: 1, 9: 1}
		if n >= 4 {
			want[7] = 0
		}
		if n >= 5 {
			want[9] = 0
		}
		for e, c := range want {
			if left[e] != c {
				t.Errorf("evict(%d): %d entries expiring at %d left, want %d (%v)", n, left[e], e, c, left)
			}
		}
	}
}

// TestNthSmallest checks the selection against a sort, duplicates and
// sorted inputs included.
func TestNthSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 200; n++ {
		for _, span := range []int64{1, 3, 1 << 40} {
			a := make([]int64, n)
			for i := range a {
				a[i] = rng.Int64N(span)
			}
			if n%7 == 0 {
				sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
			}
			sorted := append([]int64(nil), a...)
			sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
			k := rng.IntN(n)
			if got := nthSmallest(a, k); got != sorted[k] {
				t.Fatalf("n %d, span %d, k %d: %d, want %d", n, span, k, got, sorted[k])
			}
			for i := range a {
				if i < k && a[i] > sorted[k] || i > k && a[i] < sorted[k] {
					t.Fatalf("n %d, k %d: not partitioned at %d", n, k, i)
				}
			}
		}
	}
}
