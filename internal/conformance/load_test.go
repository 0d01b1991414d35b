package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
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

// TestLoadReportCheck: a run fails when an iteration failed or when the
// achieved throughput is below RateTolerance of the asked rate.
func TestLoadReportCheck(t *testing.T) {
	cases := []struct {
		rep  LoadReport
		want string
	}{
		{LoadReport{Rate: 20, Throughput: 19.5, Iterations: 100, Succeeded: 100}, ""},
		{LoadReport{Rate: 20, Throughput: 19.0, Iterations: 100, Succeeded: 100}, ""},
		{LoadReport{Rate: 20, Throughput: 18.9, Iterations: 95, Succeeded: 95, Dropped: 5}, "did not hold the rate: 18.9 iterations/s achieved, below 95% of the asked 20/s (5 dropped"},
		{LoadReport{Rate: 20, Throughput: 20, Iterations: 100, Succeeded: 99, Failed: 1}, "1 of 100 iterations failed"},
	}
	for _, tc := range cases {
		err := tc.rep.Check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.rep, err, tc.want)
		}
	}
}

// TestLoadProgress: a run prints a progress line every ProgressEvery, with
// the iterations, the achieved rate, the errors and the p50.
func TestLoadProgress(t *testing.T) {
	srv := testkit.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	prof, err := LoadProfile(filepath.Join(testutil.RepoRoot(t), "conformance", "profiles", "lu-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	l := &Load{Target: srv.URL, Client: testkit.Client(t, "fr"), Identity: testkit.Identity(t, "fr", nil), Profile: prof,
		Rate: 20, Duration: 700 * time.Millisecond, Concurrency: 4, Progress: &progress, ProgressEvery: 200 * time.Millisecond}
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(lines) < 2 || !strings.Contains(lines[len(lines)-1], "failed), 0.0/s of 20/s asked, p50 0 ms") {
		t.Fatalf("progress:\n%s", progress.String())
	}
	if err := rep.Check(); err == nil || !strings.Contains(err.Error(), "iterations failed") {
		t.Errorf("check: %v", err)
	}
}

// TestLoadSessions: each simulated professional reuses one HCP assertion
// for the session, the professionals take the iterations in turn, an ended
// session signs anew, and FreshAssertions signs for every iteration.
func TestLoadSessions(t *testing.T) {
	id := testkit.Identity(t, "fr", nil)
	l := &Load{Identity: id, Professionals: 3, Session: time.Hour}
	var got []*etree.Element
	for range 6 {
		a, err := l.hcp()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	for i := range 3 {
		if got[i] != got[i+3] {
			t.Errorf("iteration %d and %d: professional %d signed a new HCP within the session", i, i+3, i+1)
		}
		if got[i] == got[(i+1)%3] {
			t.Errorf("professionals %d and %d share an HCP", i+1, (i+1)%3+1)
		}
		want := fmt.Sprintf("fr-pharmacist-%04d", i+1)
		if n := got[i].FindElement(".//NameID"); n == nil || n.Text() != want {
			t.Errorf("professional %d: NameID %v, want %s", i+1, n, want)
		}
	}
	l.sessions.mu.Lock()
	l.sessions.ends[0] = l.sessions.ends[0].Add(-2 * time.Hour)
	l.sessions.mu.Unlock()
	if a, err := l.hcp(); err != nil || a == got[0] {
		t.Errorf("ended session: same HCP reused (err %v)", err)
	}
	f := &Load{Identity: id, Professionals: 1, Session: time.Hour, FreshAssertions: true}
	a1, err1 := f.hcp()
	a2, err2 := f.hcp()
	if err1 != nil || err2 != nil || a1 == a2 {
		t.Errorf("fresh assertions: same HCP twice (%v, %v)", err1, err2)
	}
}
