package soap

import (
	"bytes"
	"net/http/httptest"
	"sync"
	"testing"
)

// poisonPooled runs do, then takes a pooled buffer of at least n bytes of
// capacity (the one do just put back), overwrites all of its capacity and
// puts it back; when the pool hands out another buffer, it runs do again.
// It fails when no such buffer comes back.
func poisonPooled(t *testing.T, n int, do func()) {
	t.Helper()
	for range 200 { // the race detector drops a quarter of the Puts
		do()
		b := getBuffer()
		if b.Cap() >= n {
			p := b.AvailableBuffer()[:b.Cap()]
			for i := range p {
				p[i] = 'X'
			}
			putBuffer(b)
			return
		}
	}
	t.Fatal("no buffer came back to the pool")
}

// TestPooledBodyNotAliased: once Read returns, the request body's buffer is
// reused, and nothing in the envelope may refer to its bytes.
func TestPooledBodyNotAliased(t *testing.T) {
	var (
		env  *Envelope
		want []byte
	)
	poisonPooled(t, len(validEnvelope), func() {
		var err error
		if env, err = Read(newRequest("", ctPlain, "", validEnvelope), Limits{}); err != nil {
			t.Fatal(err)
		}
		want = DocumentBytes(env.Doc, 0)
	})
	// Compared with constants: a string aliasing the buffer would change
	// together with any copy of its header taken before.
	if got := DocumentBytes(env.Doc, 0); !bytes.Equal(got, want) || !bytes.Equal(got, []byte(validEnvelope)) {
		t.Fatalf("envelope changed with the pooled buffer:\n%s\nwant\n%s", got, validEnvelope)
	}
	if env.Action != actXCPD || env.MessageID != "urn:uuid:11111111-2222-4333-8444-555555555555" {
		t.Fatalf("header values changed with the pooled buffer: Action %q, MessageID %q", env.Action, env.MessageID)
	}
}

// TestPooledResponseNotAliased: a response written through the pooled
// buffer stays what was written once the buffer is reused.
func TestPooledResponseNotAliased(t *testing.T) {
	resp := retrieveResponse(false, []byte("<doc/>"))
	_, want, err := fixedWriter().Marshal(resp, false)
	if err != nil {
		t.Fatal(err)
	}
	var rec *httptest.ResponseRecorder
	poisonPooled(t, len(want), func() {
		rec = httptest.NewRecorder()
		if err := fixedWriter().Write(rec, resp, false); err != nil {
			t.Fatal(err)
		}
	})
	if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("response changed with the pooled buffer:\n%s\nwant\n%s", got, want)
	}
}

// TestPooledBuffersConcurrent reads and writes from many goroutines at once
// (run with -race): each sees only its own bytes.
func TestPooledBuffersConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				id := "urn:uuid:11111111-2222-4333-8444-" + string(rune('a'+g)) + string(rune('a'+i%26)) + "0000000000"
				body := envelope(hdrAction+`<wsa:MessageID>`+id+`</wsa:MessageID>`, bodyXCPD)
				env, err := Read(newRequest("", ctPlain, "", body), Limits{})
				if err != nil {
					t.Error(err)
					return
				}
				resp := Response{Action: actXCPD, RelatesTo: env.MessageID, MessageID: "urn:uuid:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", Body: env.Body}
				rec := httptest.NewRecorder()
				if err := (Writer{}).Write(rec, resp, false); err != nil {
					t.Error(err)
					return
				}
				if got := DocumentBytes(env.Doc, 0); !bytes.Equal(got, []byte(body)) {
					t.Errorf("envelope %s read back as\n%s", id, got)
					return
				}
				if !bytes.Contains(rec.Body.Bytes(), []byte("<wsa:RelatesTo>"+id+"</wsa:RelatesTo>")) {
					t.Errorf("response to %s: %s", id, rec.Body.Bytes())
					return
				}
			}
		}()
	}
	wg.Wait()
}
