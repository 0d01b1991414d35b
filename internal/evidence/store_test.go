package evidence

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
)

// TestPutConcurrentGroupCommit: 64 concurrent Puts all return stored, the
// index chain and every file check (CheckDir), and Puts that arrive while
// an index fsync runs share the next one instead of one each.
func TestPutConcurrentGroupCommit(t *testing.T) {
	const n = 64
	dir := t.TempDir()
	index := filepath.Join(dir, IndexFile)
	release := make(chan struct{})
	var mu sync.Mutex
	indexSyncs := 0
	st := &FileStore{Dir: dir}
	st.fsync = func(p string) error {
		if p == index {
			mu.Lock()
			indexSyncs++
			first := indexSyncs == 1
			mu.Unlock()
			if first {
				<-release // hold the first flush until every Put has appended its line
			}
		}
		return fsyncPath(p)
	}
	signer := seal(t, "lu")
	ids := make([]string, n)
	data := make([][]byte, n)
	for i := range n {
		p := params(t)
		p.ID = fmt.Sprintf("5b1f0c7e-3f4a-4e7a-9d51-%012d", i)
		ids[i] = p.ID
		d, err := Sign(p, signer)
		if err != nil {
			t.Fatal(err)
		}
		data[i] = d
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := Entry{ID: ids[i], Kind: "nro", Code: Acceptance, Event: "EHDSI-32", Time: t0.Add(time.Duration(i) * time.Millisecond)}
			errs[i] = st.Put(context.Background(), e, data[i])
		})
	}
	for {
		st.mu.Lock()
		all := st.head != nil && st.head.seq == n
		st.mu.Unlock()
		if all {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if indexSyncs > 2 {
		t.Errorf("%d index fsyncs for %d concurrent Puts: not shared", indexSyncs, n)
	}
	auditDir := filepath.Join(t.TempDir(), "audit")
	writeAudit(t, auditDir, audit.Event{Type: audit.EventEPRetrieve, ResponseMessageID: "urn:uuid:r", Evidence: ids})
	rep, err := CheckDir(dir, auditDir, verifier(t))
	if err != nil || !rep.OK() || rep.Checked != n {
		t.Fatalf("%v %s", err, problems(rep))
	}
}

// TestTornIndexLineMovedAside: a last index line cut by a crash (never
// acknowledged) is moved aside on the next start, and the chain continues
// after the last complete line.
func TestTornIndexLineMovedAside(t *testing.T) {
	dir := t.TempDir()
	p := params(t)
	data, _ := Sign(p, seal(t, "lu"))
	if err := (&FileStore{Dir: dir}).Put(context.Background(), Entry{ID: p.ID, Kind: "nro", Code: Acceptance, Time: t0}, data); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, IndexFile)
	whole, _ := os.ReadFile(idx)
	torn := []byte(`{"id":"cut","kind":"nro","code":"Accep`)
	f, _ := os.OpenFile(idx, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(torn)
	f.Close()
	p2 := params(t)
	p2.ID = "5b1f0c7e-0000-4e7a-9d51-0c1e2f3a4b5c"
	data2, _ := Sign(p2, seal(t, "lu"))
	if err := (&FileStore{Dir: dir}).Put(context.Background(), Entry{ID: p2.ID, Kind: "nro", Code: Acceptance, Time: t0.Add(time.Second)}, data2); err != nil {
		t.Fatalf("put after a torn index line: %v", err)
	}
	entries, hashes, err := readIndex(dir)
	if err != nil || len(entries) != 2 || entries[1].Seq != 2 || entries[1].Prev != hashes[0] {
		t.Fatalf("chain after the torn line: %v %+v", err, entries)
	}
	side, err := os.ReadFile(fmt.Sprintf("%s%s%d", idx, tornSuffix, len(whole)))
	if err != nil || string(side) != string(torn) {
		t.Fatalf("torn bytes not kept aside: %v %q", err, side)
	}
}
