package conformance

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/telemetry"
)

// TestScrapeProcess reads a gateway's process figures from its metrics
// endpoint (internal/telemetry, what luxncp serve exposes).
func TestScrapeProcess(t *testing.T) {
	tel := telemetry.New(telemetry.Options{})
	srv := httptest.NewServer(tel.Handler())
	defer srv.Close()
	s, err := ScrapeProcess(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// CPU seconds may still read 0 in a fresh test process (10 ms ticks).
	if s.CPUSeconds < 0 || s.RSSBytes <= 0 || s.PeakRSS < s.RSSBytes || s.StartTime <= 0 || s.Requests != 0 {
		t.Fatalf("process sample %+v", s)
	}
	// Requests: luxncp_requests_total summed over its labels.
	for _, ev := range []audit.Event{
		{Type: audit.EventIdentification, Consumer: audit.NCP{Country: "FR"}},
		{Type: audit.EventIdentification, Consumer: audit.NCP{Country: "FR"}},
		{Type: audit.EventEPList, Consumer: audit.NCP{Country: "BE"}, ErrorCode: "ERROR_GENERIC"},
	} {
		ctx, end := tel.Begin(context.Background(), "XCPD")
		end(ctx, &ev)
	}
	if s, err := ScrapeProcess(context.Background(), srv.URL); err != nil || s.Requests != 3 {
		t.Fatalf("after 3 requests: %+v, %v", s, err)
	}
	bad := httptest.NewServer(nil) // 404: no process metrics
	defer bad.Close()
	if _, err := ScrapeProcess(context.Background(), bad.URL); err == nil {
		t.Fatal("a page without process metrics was accepted")
	}
}

// TestSampleLine reads sample lines of the text format: labels (with
// spaces and braces in their values), timestamps, special values.
func TestSampleLine(t *testing.T) {
	for line, want := range map[string]struct {
		name string
		v    float64
		ok   bool
	}{
		`process_cpu_seconds_total 12.5`:                                 {"process_cpu_seconds_total", 12.5, true},
		`process_resident_memory_bytes 5.24288e+07 1700000000000`:        {"process_resident_memory_bytes", 5.24288e7, true},
		`luxncp_requests_total{code="none",country="FR"} 7`:              {"luxncp_requests_total", 7, true},
		`luxncp_requests_total{code="a b}",outcome="0"} 3 1700000000000`: {"luxncp_requests_total", 3, true},
		`luxncp_requests_total{code="x"}`:                                {"", 0, false},
		`# TYPE luxncp_requests_total counter`:                           {"", 0, false},
		`go_gc_duration_seconds{quantile="1"} NaN`:                       {"go_gc_duration_seconds", math.NaN(), true},
		`bad value`: {"", 0, false},
		``:          {"", 0, false},
	} {
		name, v, ok := sampleLine(line)
		if ok != want.ok || (ok && (name != want.name || (v != want.v && !math.IsNaN(want.v)))) {
			t.Errorf("%q: %q %g %v, want %+v", line, name, v, ok, want)
		}
	}
}

// TestLoadHTML: the HTML report is self-contained, with one point per
// successful iteration and the summary.
func TestLoadHTML(t *testing.T) {
	r := &LoadReport{Target: "https://127.0.0.1:1", As: "FR", Rate: 2, Iterations: 3, Succeeded: 3,
		Samples: []Sample{{At: 0, Duration: 12}, {At: 500, Duration: 20}, {At: 1000, Duration: 15}},
		Steps:   []StepStats{{Step: StepIteration, Count: 3, P50: 15}}}
	var b strings.Builder
	if err := WriteLoadHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<circle "); n != 3 {
		t.Errorf("%d points, want 3", n)
	}
	if strings.Count(page, "<svg ") != 2 || !strings.Contains(page, "iteration") {
		t.Error("plots or summary missing")
	}
	for _, ext := range []string{"<script", "src=", "href=", "@import"} {
		if strings.Contains(page, ext) {
			t.Errorf("the page refers to an external asset or script (%s)", ext)
		}
	}
}
