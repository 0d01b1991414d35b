package gateway

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// TestAdmissionCountryShare: one country holds at most its share of the
// requests in progress and of the body memory; another is still admitted;
// everything is given back on release.
func TestAdmissionCountryShare(t *testing.T) {
	const mib = 1 << 20
	a := &Admission{MaxInFlight: 4, MaxBodyMemory: 8 * mib}
	var fr []*ticket
	for i := 0; i < 2; i++ {
		tk, b := a.admit("FR", 100, 10*mib)
		if b != nil {
			t.Fatalf("France's request %d: %s", i, b.reason)
		}
		fr = append(fr, tk)
	}
	if _, b := a.admit("FR", 100, 10*mib); b == nil || b.status != 503 || !strings.Contains(b.reason, "FR has 2 requests in progress") {
		t.Fatalf("France beyond half of the slots: %+v", b)
	}
	be, b := a.admit("BE", 100, 10*mib)
	if b != nil {
		t.Fatalf("Belgium refused while France holds its share: %s", b.reason)
	}
	be.release()
	for _, tk := range fr {
		tk.release()
	}

	// Body memory: reserved by the declared length, before reading.
	big, b := a.admit("FR", 3*mib, 10*mib)
	if b != nil {
		t.Fatal(b.reason)
	}
	if _, b := a.admit("FR", 3*mib, 10*mib); b == nil || !strings.Contains(b.reason, "FR holds 3 MiB") {
		t.Fatalf("France beyond half of the body memory: %+v", b)
	}
	be, b = a.admit("BE", 3*mib, 10*mib)
	if b != nil {
		t.Fatalf("Belgium refused while France holds its share of the memory: %s", b.reason)
	}
	if _, b := a.admit("NL", 3*mib, 10*mib); b == nil || !strings.Contains(b.reason, "more than 8 MiB of request bodies") {
		t.Fatalf("beyond the global body memory: %+v", b)
	}
	// A body that ends where its reservation ends needs nothing more, even
	// with the memory taken.
	if n, err := io.Copy(io.Discard, big.body(io.NopCloser(bytes.NewReader(make([]byte, 3*mib))))); err != nil || n != 3*mib {
		t.Fatalf("reading a declared body: %d, %v", n, err)
	}
	// Without Content-Length the memory is reserved as the body is read:
	// France, at its share, is cut off as soon as it needs more.
	chunked, b := a.admit("FR", -1, 10*mib)
	if b != nil {
		t.Fatal(b.reason)
	}
	if _, b := a.admit("FR", -1, 10*mib); b == nil {
		t.Fatal("third request of France admitted with a share of two")
	}
	n, err := io.Copy(io.Discard, chunked.body(io.NopCloser(bytes.NewReader(make([]byte, 2*mib)))))
	if !errors.Is(err, ErrBodyMemory) || chunked.refused == nil || n > mib+1 {
		t.Fatalf("a chunked body beyond the share: read %d, %v", n, err)
	}
	big.release()
	be.release()
	chunked.release()
	if a.inFlight != 0 || a.bytes != 0 || len(a.held) != 0 {
		t.Errorf("after every release: %d in flight, %d bytes, held %v", a.inFlight, a.bytes, a.held)
	}
}

// TestAdmissionConcurrent: admissions, reads and releases from many
// goroutines keep the books balanced (run with -race in make test).
func TestAdmissionConcurrent(t *testing.T) {
	a := &Admission{MaxInFlight: 8, MaxBodyMemory: 4 << 20}
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := []string{"FR", "BE", "DE"}[i%3]
			for j := 0; j < 50; j++ {
				declared := int64(-1)
				if j%2 == 0 {
					declared = 300 << 10
				}
				tk, b := a.admit(cc, declared, 10<<20)
				if b != nil {
					continue
				}
				io.Copy(io.Discard, tk.body(io.NopCloser(bytes.NewReader(make([]byte, 300<<10)))))
				tk.release()
			}
		}()
	}
	wg.Wait()
	if a.inFlight != 0 || a.bytes != 0 || len(a.held) != 0 {
		t.Errorf("after every release: %d in flight, %d bytes, held %v", a.inFlight, a.bytes, a.held)
	}
}
