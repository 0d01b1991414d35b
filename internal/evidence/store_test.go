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

// TestPutAllSharesFsyncs: a transaction's NRR and NRO stored by one
// PutAll cost two file fsyncs, one directory fsync and one index fsync
// (six with two Puts), the lines are chained in order and everything
// checks; the first PutAll of a day also syncs the parents once.
func TestPutAllSharesFsyncs(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var synced []string
	st := &FileStore{Dir: dir}
	st.fsync = func(p string) error {
		mu.Lock()
		synced = append(synced, p)
		mu.Unlock()
		return fsyncPath(p)
	}
	signer := seal(t, "lu")
	var all []string
	for round := range 2 {
		var items []Item
		for k, kind := range []Kind{Receipt, Origin} {
			p := params(t)
			p.Kind = kind
			p.ID = fmt.Sprintf("5b1f0c7e-3f4a-4e7a-9d51-%012d", 10*round+k)
			d, err := Sign(p, signer)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, Item{Entry: Entry{ID: p.ID, Kind: kind.Short(), Code: Acceptance, Event: "EHDSI-32", Time: t0.Add(time.Duration(round) * time.Second)}, Data: d})
			all = append(all, p.ID)
		}
		synced = nil
		if err := st.PutAll(context.Background(), items); err != nil {
			t.Fatal(err)
		}
		// The file fsyncs go through writeSync, not the hook: only the
		// shared directory and index flushes are counted here.
		want := 2 // the day directory, the index
		if round == 0 {
			want = 2 + 3 + 1 // + the parents (DD's MM, YYYY, the store) and the store again for the new index
		}
		if len(synced) > want || len(synced) < 2 {
			t.Errorf("round %d: %d shared fsyncs %v, want at most %d", round, len(synced), synced, want)
		}
	}
	entries, hashes, err := readIndex(dir)
	if err != nil || len(entries) != 4 {
		t.Fatalf("index: %v %+v", err, entries)
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) || e.ID != all[i] || (i > 0 && e.Prev != hashes[i-1]) {
			t.Fatalf("line %d: %+v", i, e)
		}
	}
	auditDir := filepath.Join(t.TempDir(), "audit")
	writeAudit(t, auditDir, audit.Event{Type: audit.EventEPRetrieve, ResponseMessageID: "urn:uuid:r", Evidence: all})
	rep, err := CheckDir(dir, auditDir, verifier(t))
	if err != nil || !rep.OK() || rep.Checked != 4 {
		t.Fatalf("%v %s", err, problems(rep))
	}
}
