package reqlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/reqlog"
)

func lines(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	return strings.Split(strings.TrimSpace(buf.String()), "\n")
}

func TestHandlerAddsIDsAndDropsDuplicates(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(reqlog.Handler(slog.NewJSONHandler(&buf, nil))).With("component", "xca", "endpoint", "XCA")
	ctx := reqlog.WithMessageID(reqlog.WithRequestID(context.Background(), "r-1"), "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	log.InfoContext(ctx, "request served", "component", "again", "code", "x", "code", "y", "request_id", "forged")
	log.Info("no context ids")
	ls := lines(t, &buf)
	if len(ls) != 2 {
		t.Fatalf("%d lines", len(ls))
	}
	for _, key := range []string{`"component"`, `"code"`, `"request_id"`} {
		if n := strings.Count(ls[0], key); n != 1 {
			t.Errorf("%s appears %d times in %s", key, n, ls[0])
		}
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(ls[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["request_id"] != "r-1" || rec["message_id"] != "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427" || rec["component"] != "xca" || rec["code"] != "x" {
		t.Errorf("record %v", rec)
	}
	if strings.Contains(ls[1], "request_id") {
		t.Errorf("ids without a context: %s", ls[1])
	}
}

func TestMiddleware(t *testing.T) {
	var got string
	h := reqlog.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = reqlog.RequestID(r.Context()) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got == "" || rec.Header().Get(reqlog.Header) != got {
		t.Fatalf("id %q, header %q", got, rec.Header().Get(reqlog.Header))
	}
	// A platform id is kept; a hostile one is replaced.
	for id, keep := range map[string]bool{"ABC-123=": true, "bad id\n{": false} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req = req.WithContext(reqlog.WithRequestID(req.Context(), id))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if (got == id) != keep || rec.Header().Get(reqlog.Header) != got {
			t.Errorf("platform id %q: used %q", id, got)
		}
	}
}
