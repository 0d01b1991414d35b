package gateway_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/gateway"
)

// replayStore is one replay guard implementation under the same tests:
// store makes an empty store and returns its open: a guard on it (a second
// open is a restart).
type replayStore struct {
	name    string
	durable bool
	bounded bool // Max applies (local guards)
	store   func(t *testing.T) func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard
}

func replayStores() []replayStore {
	clockOf := func(now *time.Time) func() time.Time { return func() time.Time { return *now } }
	return []replayStore{
		{"memory", false, true, func(*testing.T) func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard {
			return func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard {
				return &gateway.MemoryReplayGuard{Max: max, Now: clockOf(now)}
			}
		}},
		{"file", true, true, func(t *testing.T) func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard {
			path := filepath.Join(t.TempDir(), "replay", "message-ids")
			var last *gateway.FileReplayGuard
			return func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard {
				if last != nil {
					last.Close() // the process that held it is gone
				}
				g, err := gateway.OpenFileReplayGuard(path, max, clockOf(now))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { g.Close() })
				last = g
				return g
			}
		}},
		{"dynamodb", true, false, func(t *testing.T) func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard {
			db := dynamodb.NewFromConfig(awsemu.RetryingConfig(awsemu.DynamoDB(t)))
			awsemu.CreateTable(t, db, "luxncp-idempotency", "key")
			return func(t *testing.T, now *time.Time, max int) gateway.ReplayGuard {
				return &gateway.DynamoReplayGuard{DB: db, Table: "luxncp-idempotency",
					Now: clockOf(now), Timeout: time.Second}
			}
		}},
	}
}

// TestReplayGuards: every guard refuses a MessageID inside its window and
// accepts it after; the durable ones remember across a restart; the local
// ones are bounded and, full, refuse new ids and forget none; concurrent
// sightings have exactly one winner.
func TestReplayGuards(t *testing.T) {
	for _, st := range replayStores() {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			open := st.store(t)
			g := open(t, &now, 0)
			steps := []struct {
				name    string
				id      string
				advance time.Duration
				restart bool
				want    bool
			}{
				{"first sight", "urn:uuid:1", 0, false, false},
				{"replayed", "urn:uuid:1", 0, false, true},
				{"another message", "urn:uuid:2", 0, false, false},
				{"still inside the window", "urn:uuid:1", 9 * time.Minute, false, true},
				{"after a restart", "urn:uuid:2", 0, true, st.durable},
				{"after expiry", "urn:uuid:1", 2 * time.Minute, false, false},
				{"replayed after renewal", "urn:uuid:1", 0, false, true},
			}
			for _, s := range steps {
				now = now.Add(s.advance)
				if s.restart {
					g = open(t, &now, 0)
				}
				got, err := g.Seen(ctx, s.id, now.Add(10*time.Minute))
				if err != nil || got != s.want {
					t.Fatalf("%s: Seen = %v, %v; want %v", s.name, got, err, s.want)
				}
			}
		})
		t.Run(st.name+"/concurrent", func(t *testing.T) {
			now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			g := st.store(t)(t, &now, 0)
			var wg sync.WaitGroup
			var mu sync.Mutex
			fresh := 0
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					seen, err := g.Seen(context.Background(), "urn:uuid:race", now.Add(time.Hour))
					if err != nil {
						t.Error(err)
					}
					if !seen {
						mu.Lock()
						fresh++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if fresh != 1 {
				t.Fatalf("%d requests saw the message as new, want 1", fresh)
			}
		})
		if !st.bounded {
			continue
		}
		t.Run(st.name+"/bounded: full, it refuses new ids and forgets none", func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			open := st.store(t)
			g := open(t, &now, 3)
			for id, life := range map[string]time.Duration{"soon": time.Minute, "late": time.Hour, "mid": 30 * time.Minute} {
				if seen, err := g.Seen(ctx, id, now.Add(life)); seen || err != nil {
					t.Fatal(id, seen, err)
				}
			}
			if seen, err := g.Seen(ctx, "new", now.Add(2*time.Hour)); seen || !errors.Is(err, gateway.ErrReplayGuardFull) {
				t.Fatalf("a new id on a full guard: seen %v, %v; want ErrReplayGuardFull", seen, err)
			}
			for _, id := range []string{"soon", "late", "mid"} {
				if seen, err := g.Seen(ctx, id, now.Add(time.Hour)); !seen || err != nil {
					t.Errorf("%s forgotten by a full guard (a replay accepted): %v", id, err)
				}
			}
			now = now.Add(time.Minute) // "soon" expires: room for one
			if seen, err := g.Seen(ctx, "new", now.Add(2*time.Hour)); seen || err != nil {
				t.Fatalf("a new id once one expired: seen %v, %v", seen, err)
			}
			if seen, err := g.Seen(ctx, "newer", now.Add(2*time.Hour)); !errors.Is(err, gateway.ErrReplayGuardFull) {
				t.Fatalf("full again: seen %v, %v", seen, err)
			}
			if st.durable {
				g = open(t, &now, 3)
				for _, id := range []string{"late", "mid", "new"} {
					if seen, _ := g.Seen(ctx, id, now.Add(time.Hour)); !seen {
						t.Errorf("%s forgotten across a restart", id)
					}
				}
				// Restarted with a smaller bound: every id read is held.
				g = open(t, &now, 1)
				for _, id := range []string{"late", "mid", "new"} {
					if seen, _ := g.Seen(ctx, id, now.Add(time.Hour)); !seen {
						t.Errorf("%s forgotten across a restart with a smaller Max", id)
					}
				}
				if _, err := g.Seen(ctx, "another", now.Add(time.Hour)); !errors.Is(err, gateway.ErrReplayGuardFull) {
					t.Errorf("over-full after the restart, a new id: %v", err)
				}
			}
		})
	}
}

// TestFileReplayGuardFile: the file stays bounded (compaction) and a torn
// last line (a crash mid-write) is ignored.
func TestFileReplayGuardFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ids")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clk := func() time.Time { return now }
	g, err := gateway.OpenFileReplayGuard(path, 100, clk)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ { // a minute apart, each held 50: ≤ 50 live
		now = now.Add(time.Minute)
		if _, err := g.Seen(context.Background(), fmt.Sprint("id-", i), now.Add(50*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	g.Close()
	st, _ := os.Stat(path)
	if max := int64(2*100+1024+1) * 82; st.Size() > max {
		t.Errorf("file %d bytes for 100 entries, want at most %d", st.Size(), max)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	f.WriteString("17647")
	f.Close()
	g, err = gateway.OpenFileReplayGuard(path, 100, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if seen, err := g.Seen(context.Background(), "id-4999", now.Add(time.Hour)); err != nil || !seen {
		t.Errorf("after a torn line: %v %v", seen, err)
	}
}

// TestFileReplayGuardConcurrent: 64 goroutines, each id sent twice at
// once — exactly one of each pair is new, every new id is on disk when
// its Seen returns (a reopened guard knows them all), and compaction
// while others wait for their fsync loses nothing.
func TestFileReplayGuardConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clk := func() time.Time { return now }
	g, err := gateway.OpenFileReplayGuard(path, 0, clk)
	if err != nil {
		t.Fatal(err)
	}
	const ids = 1500 // more than 1024 lines: a compaction happens meanwhile
	var mu sync.Mutex
	fresh := map[string]int{}
	var wg sync.WaitGroup
	work := make(chan string)
	for range 64 {
		wg.Go(func() {
			for id := range work {
				seen, err := g.Seen(context.Background(), id, now.Add(time.Hour))
				if err != nil {
					t.Error(err)
					return
				}
				if !seen {
					mu.Lock()
					fresh[id]++
					mu.Unlock()
				}
			}
		})
	}
	for i := range ids {
		id := fmt.Sprint("msg-", i%(ids/2))
		work <- id
	}
	close(work)
	wg.Wait()
	if len(fresh) != ids/2 {
		t.Fatalf("%d ids new, want %d", len(fresh), ids/2)
	}
	for id, n := range fresh {
		if n != 1 {
			t.Fatalf("%s new %d times", id, n)
		}
	}
	g.Close()
	g, err = gateway.OpenFileReplayGuard(path, 0, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for id := range fresh {
		if seen, err := g.Seen(context.Background(), id, now.Add(time.Hour)); err != nil || !seen {
			t.Fatalf("%s not durable: %v %v", id, seen, err)
		}
	}
}

// BenchmarkFileReplayGuardParallel: new ids from 64 goroutines (the
// gateway under load); ns/op is the wall time per id, each durable before
// Seen returns.
func BenchmarkFileReplayGuardParallel(b *testing.B) {
	g, err := gateway.OpenFileReplayGuard(filepath.Join(b.TempDir(), "ids"), 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	var mu sync.Mutex
	n := 0
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			id := fmt.Sprint("msg-", n)
			mu.Unlock()
			if _, err := g.Seen(context.Background(), id, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestFileReplayGuardFailedSync: an fsync of the guard's file fails (the
// id is refused with the error, and stays known: fail closed). Linux may
// have dropped the dirty pages with that error, and a second fsync of the
// same file then succeeds without them: the next new id must not be
// answered on such an fsync, but only once the file is rewritten from the
// index (and that rewrite fsync'd). A reopened guard knows every id.
func TestFileReplayGuardFailedSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	g, err := gateway.OpenFileReplayGuard(path, 100, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx, exp := context.Background(), now.Add(time.Hour)
	if seen, err := g.Seen(ctx, "a", exp); err != nil || seen {
		t.Fatalf("a: %v %v", seen, err)
	}
	var synced []string
	fail := true
	defer gateway.SetSyncFile(func(f *os.File) error {
		synced = append(synced, filepath.Base(f.Name()))
		if fail {
			fail = false
			return fmt.Errorf("EIO")
		}
		return f.Sync()
	})()
	if _, err := g.Seen(ctx, "b", exp); err == nil {
		t.Fatal("b: a failed fsync answered")
	}
	if seen, err := g.Seen(ctx, "c", exp); err != nil || seen {
		t.Fatalf("c: %v %v", seen, err)
	}
	// The rewrite: the new file, then the directory holding its name.
	if want := []string{"ids", "ids.tmp", filepath.Base(filepath.Dir(path))}; fmt.Sprint(synced) != fmt.Sprint(want) {
		t.Errorf("fsyncs %v, want %v: after a failed fsync the next id was answered on an fsync of the same file, or before its rewrite was durable", synced, want)
	}
	if seen, err := g.Seen(ctx, "b", exp); err != nil || !seen {
		t.Errorf("b again: %v %v, want a replay (fail closed)", seen, err)
	}
	synced = nil
	if seen, err := g.Seen(ctx, "d", exp); err != nil || seen || fmt.Sprint(synced) != "[ids]" {
		t.Errorf("d, once rewritten: %v %v, fsyncs %v (want the plain group commit again)", seen, err, synced)
	}
	g.Close()
	g, err = gateway.OpenFileReplayGuard(path, 100, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, id := range []string{"a", "b", "c", "d"} {
		if seen, err := g.Seen(ctx, id, exp); err != nil || !seen {
			t.Errorf("%s after reopening: %v %v", id, seen, err)
		}
	}
}

// TestFileReplayGuardTornWrite: the disk fills up in the middle of a line
// (ENOSPC after part of it was written). That id is refused; once there is
// room again the next id must not be glued to the partial line — which
// made it unreadable at the next start, so that its MessageID could be
// replayed after a restart (seen on a full tmpfs).
func TestFileReplayGuardTornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	g, err := gateway.OpenFileReplayGuard(path, 100, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx, exp := context.Background(), now.Add(time.Hour)
	if _, err := g.Seen(ctx, "a", exp); err != nil {
		t.Fatal(err)
	}
	restore := gateway.SetWriteFile(func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, fmt.Errorf("no space left on device")
	})
	if _, err := g.Seen(ctx, "b", exp); err == nil {
		t.Fatal("b: a failed write answered")
	}
	restore()
	if seen, err := g.Seen(ctx, "c", exp); err != nil || seen {
		t.Fatalf("c: %v %v", seen, err)
	}
	g.Close()
	g, err = gateway.OpenFileReplayGuard(path, 100, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, id := range []string{"a", "c"} {
		if seen, err := g.Seen(ctx, id, exp); err != nil || !seen {
			t.Errorf("%s after reopening: %v %v (a replay would pass)", id, seen, err)
		}
	}
}

// TestReplayGuardMemory fills the guards with 100,000 ids and measures
// the heap they keep: a full guard is what a node holds after a few minutes
// at a hundred requests a second (ids live for the HCP session and an
// hour), so its size is part of the node's resident memory. One map of
// 16-byte hashed keys to integer expiries keeps it ≈ 35 bytes an id; the
// file guard's hex string keys, time.Time values and expiry heap cost
// ≈ 175 (the memory guard's raw ids ≈ 160), and the collector's headroom
// doubles that in RSS. A full guard (DefaultReplayMax) is ten times this.
func TestReplayGuardMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills guards with 100,000 ids")
	}
	const n = 100_000
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	id := func(i int) string { return fmt.Sprintf("urn:uuid:%08x-0000-4000-8000-%012x", i, i) }
	heapPerID := func(fill func() gateway.ReplayGuard) (gateway.ReplayGuard, float64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g := fill()
		runtime.GC()
		runtime.ReadMemStats(&after)
		return g, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	}
	// The file guard as a node has it after a restart: the file read back.
	path := filepath.Join(t.TempDir(), "replay")
	var lines []byte
	for i := range n {
		sum := sha256.Sum256([]byte(id(i)))
		lines = fmt.Appendf(lines, "%d %x\n", now.Add(2*time.Hour+time.Duration(i)*time.Millisecond).UnixNano(), sum)
	}
	if err := os.WriteFile(path, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	lines = nil
	fileGuard, filePer := heapPerID(func() gateway.ReplayGuard {
		g, err := gateway.OpenFileReplayGuard(path, n, clock)
		if err != nil {
			t.Fatal(err)
		}
		return g
	})
	memGuard, memPer := heapPerID(func() gateway.ReplayGuard {
		g := &gateway.MemoryReplayGuard{Max: n, Now: clock}
		for i := range n {
			if seen, err := g.Seen(ctx, id(i), now.Add(2*time.Hour+time.Duration(i)*time.Millisecond)); seen || err != nil {
				t.Fatalf("id %d: seen %v, %v", i, seen, err)
			}
		}
		return g
	})
	for _, c := range []struct {
		name string
		g    gateway.ReplayGuard
		per  float64
	}{{"file", fileGuard, filePer}, {"memory", memGuard, memPer}} {
		t.Logf("%s guard: %.0f bytes of heap an id (%d ids)", c.name, c.per, n)
		if c.per > 60 {
			t.Errorf("a full %s guard holds %.0f bytes an id, want ≤ 60", c.name, c.per)
		}
		// Still guards: the first and the last ids are replays.
		for _, i := range []int{0, n - 1} {
			if seen, err := c.g.Seen(ctx, id(i), now.Add(3*time.Hour)); !seen || err != nil {
				t.Errorf("%s guard: id %d not seen again (%v)", c.name, i, err)
			}
		}
	}
}

// TestReplayGuardFullMemory fills a memory guard to DefaultReplayMax: the
// default bound is chosen below a doubling of the map's table (≈ 917,000
// entries), where an id costs ≈ 40 bytes; past it, ≈ 56.
func TestReplayGuardFullMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a guard with DefaultReplayMax ids")
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	g := &gateway.MemoryReplayGuard{Now: func() time.Time { return now }}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range gateway.DefaultReplayMax {
		if _, err := g.Seen(context.Background(), fmt.Sprint("urn:uuid:", i), now.Add(time.Hour)); err != nil {
			t.Fatalf("id %d: %v", i, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / gateway.DefaultReplayMax
	t.Logf("full guard: %.1f MB, %.0f bytes an id", float64(after.HeapAlloc-before.HeapAlloc)/1e6, per)
	if per > 45 {
		t.Errorf("a full default guard holds %.0f bytes an id, want ≤ 45 (below the map's doubling)", per)
	}
	if _, err := g.Seen(context.Background(), "one more", now.Add(time.Hour)); !errors.Is(err, gateway.ErrReplayGuardFull) {
		t.Errorf("one more id on a full guard: %v", err)
	}
	runtime.KeepAlive(g)
}
