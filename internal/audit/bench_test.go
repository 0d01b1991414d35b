package audit

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// benchWrite measures FileSink.Write end to end (JSON, hash, write, fsync)
// and reports p50/p99 latency and records/s.
func benchWrite(b *testing.B, opts FileOptions, parallel bool) {
	s, err := OpenFile(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := testRecord(b, 1)
	ctx := context.Background()
	var mu sync.Mutex
	var durs []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := clock.Now()
	if parallel {
		b.SetParallelism(8) // 8 writers per CPU share fsyncs (group commit)
		b.RunParallel(func(pb *testing.PB) {
			var local []time.Duration
			for pb.Next() {
				t0 := clock.Now()
				if err := s.Write(ctx, rec); err != nil {
					b.Error(err)
					return
				}
				local = append(local, clock.Now().Sub(t0))
			}
			mu.Lock()
			durs = append(durs, local...)
			mu.Unlock()
		})
	} else {
		for b.Loop() {
			t0 := clock.Now()
			if err := s.Write(ctx, rec); err != nil {
				b.Fatal(err)
			}
			durs = append(durs, clock.Now().Sub(t0))
		}
	}
	elapsed := clock.Now().Sub(start)
	b.StopTimer()
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(durs))/elapsed.Seconds(), "records/s")
}

func BenchmarkFileSinkWrite(b *testing.B)         { benchWrite(b, FileOptions{}, false) }
func BenchmarkFileSinkWriteParallel(b *testing.B) { benchWrite(b, FileOptions{}, true) }
func BenchmarkFileSinkWriteNoSync(b *testing.B)   { benchWrite(b, FileOptions{NoSync: true}, false) }

// BenchmarkRecord is what a transaction pays: build the message and write
// it durably.
func BenchmarkRecord(b *testing.B) {
	s, err := OpenFile(b.TempDir(), FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := &Recorder{Sink: s, Self: testLU}
	e := baseEvent(EventIdentification)
	e.Time = time.Time{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// benchChain writes n records (no fsync: only the reading is measured).
func benchChain(b *testing.B, n int) string {
	dir := b.TempDir()
	s, err := OpenFile(dir, FileOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := s.Write(context.Background(), testRecord(b, i)); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	return dir
}

func BenchmarkVerify10k(b *testing.B) {
	dir := benchChain(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Verify(dir)
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkPatientAccess10k(b *testing.B) {
	dir := benchChain(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := PatientAccess(dir, "2001010100111"); err != nil {
			b.Fatal(err)
		}
	}
}
