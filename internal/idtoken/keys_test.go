package idtoken

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// TestRemoteKeysRotation: the verifier finds the issuer through discovery,
// picks up a rotated key the first time a token names it, stops accepting
// a withdrawn key within MaxAge, and unknown key ids do not make it ask the
// issuer more than once per MinRefresh.
func TestRemoteKeysRotation(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	old, _ := NewDevIssuer("")
	next, _ := NewDevIssuer("")
	var current atomic.Pointer[DevIssuer]
	current.Store(old)
	var jwksReads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks.json" {
			jwksReads.Add(1)
		}
		cur := *current.Load()
		cur.URL = "http://" + r.Host
		cur.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	for _, d := range []*DevIssuer{old, next} {
		d.URL, d.Now = srv.URL, clk.Now
	}
	v := &Verifier{Issuer: srv.URL, Audience: DevAudience, Now: clk.Now,
		Keys: &RemoteKeys{Issuer: srv.URL, Now: clk.Now, MaxAge: 10 * time.Minute, MinRefresh: 30 * time.Second}}
	p, _ := DemoPersonOf("professional", "lu-hcp-2001")
	verify := func(d *DevIssuer) error {
		tok, err := d.Mint(p.Claims, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), tok)
		return err
	}
	if err := verify(old); err != nil {
		t.Fatalf("current key: %v", err)
	}
	// Rotation: the issuer now publishes only the new key.
	current.Store(next)
	if err := verify(next); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// The withdrawn key still verifies from the cache, at most MaxAge.
	reads := jwksReads.Load()
	for i := 0; i < 5; i++ {
		if err := verify(old); err == nil {
			t.Fatal("the withdrawn key verified after the key set was read again")
		}
	}
	if got := jwksReads.Load() - reads; got > 1 {
		t.Fatalf("%d key-set reads for unknown kids within MinRefresh, want at most 1", got)
	}
	clk.Advance(11 * time.Minute)
	if err := verify(next); err != nil {
		t.Fatalf("after MaxAge: %v", err)
	}
}
