package routing

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testutil"
)

// streamPadding streams n bytes of XML-looking padding and counts what
// the client let through before it hung up.
func streamPadding(w http.ResponseWriter, n int, sent *atomic.Int64) {
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	chunk := []byte(strings.Repeat("<a/>", 16<<10)) // 64 KiB
	for written := 0; written < n; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		sent.Add(int64(len(chunk)))
	}
}

// TestReplyCapStreams: a 47 MB reply is refused after the call's cap, as
// an invalid reply naming the cap, without reading or holding the rest.
func TestReplyCapStreams(t *testing.T) {
	if testutil.Race {
		t.Skip("allocation bounds are asserted in make test's run without -race")
	}
	var sent atomic.Int64
	_, be, _ := server(t, "BE", func(w http.ResponseWriter, _ *http.Request) { streamPadding(w, 47<<20, &sent) })
	dir, _ := NewStatic(be)
	c := client(t, dir, nil)
	const cap = 2 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.Do(context.Background(), Call{Country: "BE", Transaction: ITI39, Request: request(), MaxReplyBytes: cap})
	runtime.ReadMemStats(&after)
	re, ok := AsError(err)
	if !ok || re.Kind != ErrInvalidReply || !strings.Contains(re.Public, "larger than 2097152 bytes") {
		t.Fatalf("got %v, want an invalid reply naming the cap", err)
	}
	// The server may have pushed a few buffers more into the socket; far
	// from the 47 MB it had to send.
	t.Logf("47 MB reply, cap 2 MiB: server sent %d KiB, client allocated %d KiB", sent.Load()>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
	if s := sent.Load(); s > 12<<20 {
		t.Errorf("the server got %d MiB through before the client hung up", s>>20)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
		t.Errorf("refusing the reply allocated %d MiB", alloc>>20)
	}
}

// TestFaultTextIsData: a partner's fault reason is bounded and stripped of
// controls and bidi overrides; an unknown code becomes ERROR_GENERIC with
// the original named.
func TestFaultTextIsData(t *testing.T) {
	reason := "line1\nline2 \u202Eevil" + strings.Repeat("x", 1<<20)
	_, be, _ := server(t, "BE", func(w http.ResponseWriter, _ *http.Request) {
		_ = soap.WriteFault(w, ehdsi.Receiver("MY_CONSENT_TRICK", reason, nil), "")
	})
	dir, _ := NewStatic(be)
	_, err := client(t, dir, nil).Do(context.Background(), Call{Country: "BE", Transaction: ITI55, Request: request()})
	re, ok := AsError(err)
	if !ok || re.Kind != ErrRefused {
		t.Fatalf("got %v", err)
	}
	if re.Code != ehdsi.ErrGeneric {
		t.Errorf("code %q, want ERROR_GENERIC", re.Code)
	}
	if len(re.Public) > 600 || strings.ContainsAny(re.Public, "\n\u202E") {
		t.Errorf("public text not bounded or not clean (%d bytes): %q", len(re.Public), re.Public[:min(200, len(re.Public))])
	}
	for _, want := range []string{"line1 line2 evilxxx", "truncated from", `unknown error code "MY_CONSENT_TRICK"`} {
		if !strings.Contains(re.Public, want) {
			t.Errorf("public text lacks %q: %q", want, re.Public)
		}
	}
}
