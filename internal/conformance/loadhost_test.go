package conformance

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/telemetry"
)

// TestScrapeProcess reads a gateway's process figures from its metrics
// endpoint (internal/telemetry, what luxncp serve exposes).
func TestScrapeProcess(t *testing.T) {
	srv := httptest.NewServer(telemetry.New(telemetry.Options{}).Handler())
	defer srv.Close()
	s, err := ScrapeProcess(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// CPU seconds may still read 0 in a fresh test process (10 ms ticks).
	if s.CPUSeconds < 0 || s.RSSBytes <= 0 || s.PeakRSS < s.RSSBytes {
		t.Fatalf("process sample %+v", s)
	}
	bad := httptest.NewServer(nil) // 404: no process metrics
	defer bad.Close()
	if _, err := ScrapeProcess(context.Background(), bad.URL); err == nil {
		t.Fatal("a page without process metrics was accepted")
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
