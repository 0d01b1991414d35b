package national_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/luxncp/luxncp/internal/national"
)

// errAfter yields n bytes of 'x', then err.
type errAfter struct {
	n   int
	err error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

// TestReadBody: readBody answers as io.ReadAll(io.LimitReader(…)) did —
// the same bytes and error for bodies around the buffer and limit sizes
// and a failing reader —, and a body returned is never overwritten by a
// later read through the reused buffer (8 goroutines, under -race).
func TestReadBody(t *testing.T) {
	boom := errors.New("boom")
	for _, size := range []int{0, 1, 511, 512, 513, 4096, 70000} {
		for _, limit := range []int64{int64(size) - 1, int64(size), int64(size) + 1, 1 << 20} {
			if limit < 0 {
				continue
			}
			body := strings.Repeat("abcdefghij", size/10+1)[:size]
			got, gerr := national.ReadBody(strings.NewReader(body), limit)
			want, werr := io.ReadAll(io.LimitReader(strings.NewReader(body), limit))
			if !bytes.Equal(got, want) || gerr != werr {
				t.Fatalf("size %d limit %d: %d bytes %v, want %d bytes %v", size, limit, len(got), gerr, len(want), werr)
			}
		}
		got, gerr := national.ReadBody(&errAfter{size, boom}, 1<<20)
		want, werr := io.ReadAll(&errAfter{size, boom})
		if !bytes.Equal(got, want) || gerr != werr {
			t.Fatalf("failing reader after %d: %d bytes %v, want %d bytes %v", size, len(got), gerr, len(want), werr)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kept := make([][]byte, 0, 50)
			for i := range 50 {
				b, err := national.ReadBody(strings.NewReader(bodyOf(g, i)), 1<<20)
				if err != nil {
					t.Error(err)
					return
				}
				kept = append(kept, b)
			}
			for i, b := range kept {
				if string(b) != bodyOf(g, i) {
					t.Errorf("goroutine %d body %d overwritten: %.20q", g, i, b)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// bodyOf is the body goroutine g reads at its i-th call.
func bodyOf(g, i int) string { return strings.Repeat(fmt.Sprintf("g%d-i%02d;", g, i), 10+i) }
