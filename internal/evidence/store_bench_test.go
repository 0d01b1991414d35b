package evidence

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPutConcurrent: FileStore.Put from 64 goroutines at once (the
// gateway under load); ns/op is the wall time per stored evidence.
func BenchmarkPutConcurrent(b *testing.B) {
	st := &FileStore{Dir: b.TempDir()}
	data := []byte("<evidence>" + string(make([]byte, 4096)) + "</evidence>")
	var n atomic.Int64
	b.SetParallelism(32) // 2 cores × 32 = 64 writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			e := Entry{ID: fmt.Sprintf("id-%d", i), Kind: "nro", Code: Acceptance, Time: t0.Add(time.Duration(i) * time.Millisecond)}
			if err := st.Put(context.Background(), e, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPutAllSerial: one transaction's NRR and NRO at a time (a quiet
// gateway): ns/op is what a retrieve waits for its evidence to be stored.
func BenchmarkPutAllSerial(b *testing.B) {
	st := &FileStore{Dir: b.TempDir()}
	data := []byte("<evidence>" + string(make([]byte, 4096)) + "</evidence>")
	for i := range b.N {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		items := []Item{
			{Entry: Entry{ID: fmt.Sprintf("id-%d", i), Kind: "nrr", Code: Acceptance, Time: at}, Data: data},
			{Entry: Entry{ID: fmt.Sprintf("id-%d", i), Kind: "nro", Code: Acceptance, Time: at}, Data: data},
		}
		if err := st.PutAll(context.Background(), items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutPair: a transaction's NRR and NRO from 64 goroutines at
// once, stored by two Puts (before) or one PutAll (the Emitter's way);
// ns/op is the wall time per transaction, cpu-ms/op the process's CPU
// (user + system, getrusage) per transaction.
func BenchmarkPutPair(b *testing.B) {
	data := []byte("<evidence>" + string(make([]byte, 4096)) + "</evidence>")
	for _, mode := range []string{"two-puts", "putall"} {
		b.Run(mode, func(b *testing.B) {
			st := &FileStore{Dir: b.TempDir()}
			var n atomic.Int64
			b.SetParallelism(32)
			cpu0 := cpuMillis()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					at := t0.Add(time.Duration(i) * time.Millisecond)
					items := []Item{
						{Entry: Entry{ID: fmt.Sprintf("id-%d", i), Kind: "nrr", Code: Acceptance, Time: at}, Data: data},
						{Entry: Entry{ID: fmt.Sprintf("id-%d", i), Kind: "nro", Code: Acceptance, Time: at}, Data: data},
					}
					var err error
					if mode == "putall" {
						err = st.PutAll(context.Background(), items)
					} else {
						for _, it := range items {
							if err = st.Put(context.Background(), it.Entry, it.Data); err != nil {
								break
							}
						}
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric((cpuMillis()-cpu0)/float64(b.N), "cpu-ms/op")
		})
	}
}

func cpuMillis() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}
