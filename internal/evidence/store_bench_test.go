package evidence

import (
	"context"
	"fmt"
	"sync/atomic"
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
