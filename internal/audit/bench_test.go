package audit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/matricule"
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

// BenchmarkPatientAccess1M reads one patient's access log from a store of
// 1,000,000 records (100,000 patients, 10 accesses each): the index is read,
// never the chain. The store is built once (no fsync; a few minutes) in a
// directory of its own, removed at the end. The other patients' records
// carry a short placeholder message to keep the store at ~600 MB; the
// measured patient's records are complete eHDSI records.
func BenchmarkPatientAccess1M(b *testing.B) {
	const records, patients = 1_000_000, 100_000
	dir := b.TempDir()
	s, err := OpenFile(dir, FileOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	full := testRecord(b, 0)
	target := full.Event.Patient // 1990010112385
	ctx := context.Background()
	for i := range records {
		r := full
		r.ID = fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i)
		if p := i % patients; p != 0 {
			m := matricule.Generate(fmt.Sprintf("19%02d0201", p/1000), p%1000) // unique, never the target
			r.Event.Patient, r.Event.Patients = m, []PatientID{{Root: ehdsi.OIDMatricule, Extension: m}}
			r.Message = "<AuditMessage/>"
		}
		if err := s.Write(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	store := DirReader{Dir: dir}
	b.Run("one-patient", func(b *testing.B) {
		for b.Loop() {
			log, err := PatientAccess(ctx, store, nil, target)
			if err != nil || len(log.Accesses) != records/patients {
				b.Fatalf("%d accesses, %v", len(log.Accesses), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	})
}
