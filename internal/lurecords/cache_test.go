package lurecords

import (
	"fmt"
	"testing"
)

func TestDocCache(t *testing.T) {
	c := newDocCache(2)
	builds := 0
	build := func(s string) func() ([]byte, error) {
		return func() ([]byte, error) { builds++; return []byte(s), nil }
	}
	a := cacheKey([]byte("national v1"), "ep-1.L3")
	b := cacheKey([]byte("national v2"), "ep-1.L3") // the national record changed
	if a == b {
		t.Fatal("different national content, same key")
	}
	if cacheKey([]byte("x"), "ab", "c") == cacheKey([]byte("x"), "a", "bc") {
		t.Fatal("key parts are not separated")
	}
	// Content holding the separator cannot pose as content plus parts (a
	// parsed prescription's key meeting a document's).
	if cacheKey([]byte("x\x00ep-1.L3"), "1") == cacheKey([]byte("x"), "ep-1.L3", "1") ||
		cacheKey([]byte("x\x00\x00\x00\x00\x00\x00\x00\x07ep-1.L3"), "1") == cacheKey([]byte("x"), "ep-1.L3", "1") {
		t.Fatal("content and parts are not separated")
	}
	got1, _ := c.get(a, build("doc v1"))
	got2, _ := c.get(a, build("never built"))
	got3, _ := c.get(b, build("doc v2"))
	if string(got1.data) != "doc v1" || string(got2.data) != "doc v1" || string(got3.data) != "doc v2" || builds != 2 {
		t.Fatalf("got %q %q %q after %d builds", got1.data, got2.data, got3.data, builds)
	}
	// The hash a listing gives is the document's, for each version.
	if got1.sha1 != sha1hex([]byte("doc v1")) || got3.sha1 != sha1hex([]byte("doc v2")) {
		t.Fatalf("hashes %s %s are not the documents'", got1.sha1, got3.sha1)
	}
	// Bounded: the least recently used entry goes.
	c.get(cacheKey([]byte("third")), build("3"))
	if len(c.items) != 2 {
		t.Fatalf("%d entries, max 2", len(c.items))
	}
	c.get(a, build("rebuilt"))
	if builds != 4 {
		t.Errorf("evicted entry not rebuilt (%d builds)", builds)
	}
	// Errors are not cached.
	_, err := c.get(cacheKey([]byte("bad")), func() ([]byte, error) { return nil, fmt.Errorf("boom") })
	if err == nil || len(c.items) != 2 {
		t.Errorf("error cached: %v, %d entries", err, len(c.items))
	}
	var nilCache *docCache
	if v, _ := nilCache.get(a, build("no cache")); string(v.data) != "no cache" || v.sha1 != sha1hex([]byte("no cache")) {
		t.Error("a nil cache must build")
	}
}
