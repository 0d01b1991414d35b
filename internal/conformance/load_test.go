package conformance

import (
	"testing"
	"time"
)

func TestIsLoopback(t *testing.T) {
	for target, want := range map[string]bool{
		"https://127.0.0.1:8443": true, "https://localhost:8443": true, "https://[::1]:8443": true,
		"https://127.0.0.2": true, "https://ncp.example.lu:443": false, "https://10.0.0.1:8443": false, "::bad": false,
	} {
		if got := IsLoopback(target); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", target, got, want)
		}
	}
}

func TestStats(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := stats("x", ds)
	if s.Count != 100 || s.P50 != 50 || s.P95 != 95 || s.P99 != 99 || s.Max != 100 {
		t.Errorf("stats = %+v", s)
	}
	if s := stats("none", nil); s.Count != 0 || s.Max != 0 {
		t.Errorf("empty stats = %+v", s)
	}
	if s := stats("one", []time.Duration{3 * time.Millisecond}); s.P50 != 3 || s.P99 != 3 {
		t.Errorf("single stats = %+v", s)
	}
}
