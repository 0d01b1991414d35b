package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
)

// page is what a fake gateway's metrics endpoint says at one scrape.
type page struct {
	cpu, rss, hwm, start, requests float64
}

func (p page) String() string {
	return fmt.Sprintf(`# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total %g
process_resident_memory_bytes %g
process_start_time_seconds %g
luxncp_process_peak_resident_memory_bytes %g
# TYPE luxncp_requests_total counter
luxncp_requests_total{code="none",country="FR",outcome="0",transaction="ITI-55"} %g
luxncp_requests_total{code="ERROR GENERIC",country="FR",outcome="8",transaction="ITI-38"} 2
`, p.cpu, p.rss, p.start, p.hwm, p.requests-2)
}

// fakeGateway is a load target that answers every request with HTTP 503
// (so each iteration sends one request and gets one answer) beside a
// metrics endpoint whose page the test writes, from the scrape's number
// (1: the first) and the requests the target answered so far.
type fakeGateway struct {
	target, metrics *httptest.Server
	answered        atomic.Int64
	scrapes         atomic.Int64
}

func newFakeGateway(t *testing.T, metrics func(scrape, answered int64) page) *fakeGateway {
	t.Helper()
	g := &fakeGateway{}
	g.target = testkit.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.answered.Add(1) // counted before the answer is written, as the gateway does
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	g.metrics = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(metrics(g.scrapes.Add(1), g.answered.Load()).String()))
	}))
	t.Cleanup(g.metrics.Close)
	return g
}

func (g *fakeGateway) load(t *testing.T, d time.Duration) *Load {
	t.Helper()
	prof, err := LoadProfile(filepath.Join(testutil.RepoRoot(t), "conformance", "profiles", "lu-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	return &Load{Target: g.target.URL, Client: testkit.Client(t, "fr"), Identity: testkit.Identity(t, "fr", nil), Profile: prof,
		Rate: 10, Duration: d, Concurrency: 4, Metrics: g.metrics.URL}
}

// outputs are a load report's three renderings.
type outputs struct {
	text, html string
	json       map[string]any
}

func render(t *testing.T, rep *LoadReport) outputs {
	t.Helper()
	var txt, page, js bytes.Buffer
	if err := WriteLoadText(&txt, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteLoadHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteLoadJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	o := outputs{text: txt.String(), html: html.UnescapeString(page.String())}
	if err := json.Unmarshal(js.Bytes(), &o.json); err != nil {
		t.Fatal(err)
	}
	return o
}

const mib = 1 << 20

// TestLoadChecksTheMetricsEndpoint: the load mode prints gateway figures
// only when the scraped gateway's request counter rose by at least this
// run's answered requests (and not far more): another, idle luxncp's
// /metrics, a busy one, or a gateway that restarted during the run gives
// no figures, a line saying why, and a failed Check.
func TestLoadChecksTheMetricsEndpoint(t *testing.T) {
	const start = 1.7e9
	cases := []struct {
		name   string
		page   func(scrape, answered int64) page
		refuse string // "" when the figures are this run's
	}{
		{"this run's gateway", func(_, n int64) page {
			return page{cpu: 1 + float64(n)*0.01, rss: 40 * mib, hwm: 40 * mib, start: start, requests: 10 + float64(n)}
		}, ""},
		{"as many requests of others", func(_, n int64) page {
			return page{cpu: 1 + float64(n)*0.01, rss: 40 * mib, hwm: 40 * mib, start: start, requests: 10 + 2*float64(n)}
		}, ""},
		{"another, idle luxncp", func(int64, int64) page { return page{cpu: 3, rss: 43 * mib, hwm: 45 * mib, start: start, requests: 7} }, "did not serve this run's requests"},
		{"a gateway busy with others", func(s, n int64) page {
			return page{cpu: 1 + float64(s), rss: 40 * mib, hwm: 40 * mib, start: start, requests: 10 + float64(n) + 10000*float64(s-1)}
		}, "more than as many again"},
		{"a gateway restarted during the run", func(s, n int64) page {
			if s == 1 {
				return page{cpu: 100, rss: 40 * mib, hwm: 90 * mib, start: start, requests: 5000}
			}
			return page{cpu: 0.5, rss: 20 * mib, hwm: 20 * mib, start: start + 60, requests: float64(n)}
		}, "restarted"},
		{"a gateway restarted, its new counters already past", func(s, n int64) page {
			if s == 1 {
				return page{cpu: 1, rss: 40 * mib, hwm: 40 * mib, start: start, requests: 10}
			}
			return page{cpu: 50, rss: 40 * mib, hwm: 40 * mib, start: start + 60, requests: 10 + 1.5*float64(n)}
		}, "restarted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newFakeGateway(t, tc.page)
			rep, err := g.load(t, 600*time.Millisecond).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			o := render(t, rep)
			gatewayErr := func() bool { err := rep.Check(); return err != nil && strings.Contains(err.Error(), "gateway") }()
			if tc.refuse == "" {
				if !strings.Contains(o.text, ", gateway ") || !strings.Contains(o.text, "; gateway peak RSS 41.9 MB\n") {
					t.Errorf("the run's own gateway: no figures\n%s", o.text)
				}
				if o.json["gatewayCpuPerIterationMs"] == nil || o.json["gatewayPeakRssMB"] == nil || gatewayErr {
					t.Errorf("the run's own gateway: JSON %v, check %v", o.json, rep.Check())
				}
				if others := strings.Contains(o.text, "more than it sent: others'"); others != (tc.name == "as many requests of others") {
					t.Errorf("requests of others noted: %v\n%s", others, o.text)
				}
				return
			}
			if strings.Contains(o.text, "gateway peak RSS") || strings.Contains(o.text, ", gateway ") {
				t.Errorf("gateway figures printed for %s:\n%s", tc.name, o.text)
			}
			if !strings.Contains(o.text, "gateway figures unavailable: ") || !strings.Contains(o.text, tc.refuse) {
				t.Errorf("no line saying why (%q):\n%s", tc.refuse, o.text)
			}
			if _, ok := o.json["gatewayCpuPerIterationMs"]; ok {
				t.Errorf("JSON has gateway CPU for %s", tc.name)
			}
			if _, ok := o.json["gatewayPeakRssMB"]; ok {
				t.Errorf("JSON has gateway RSS for %s", tc.name)
			}
			if !strings.Contains(fmt.Sprint(o.json["gateway"]), tc.refuse) || !strings.Contains(o.html, tc.refuse) {
				t.Errorf("JSON or HTML do not say why: %v", o.json["gateway"])
			}
			if !gatewayErr {
				t.Errorf("check: %v, want the gateway's figures named", rep.Check())
			}
		})
	}
}

// TestLoadZeroGatewayCPU: a measured 0 is a figure, in the JSON as on the
// console (omitting it made the two disagree).
func TestLoadZeroGatewayCPU(t *testing.T) {
	g := newFakeGateway(t, func(_, n int64) page {
		return page{cpu: 4, rss: 30 * mib, hwm: 30 * mib, start: 1.7e9, requests: float64(n)}
	})
	rep, err := g.load(t, 400*time.Millisecond).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := render(t, rep)
	if !strings.Contains(o.text, ", gateway 0.00 ms; gateway peak RSS 31.5 MB") {
		t.Errorf("console:\n%s", o.text)
	}
	if v, ok := o.json["gatewayCpuPerIterationMs"]; !ok || v != 0.0 {
		t.Errorf("JSON gatewayCpuPerIterationMs = %v (present %v), want 0", v, ok)
	}
	if v := o.json["gatewayPeakRssMB"]; v != 31.5 {
		t.Errorf("JSON gatewayPeakRssMB = %v, want 31.5", v)
	}
}

// TestLoadPeakRSSDuringRun: the gateway's peak RSS is the highest of the
// RSS samples taken during the run (at its start, every second, at its
// end), in MB of 10^6 bytes — not the process's peak since its start-up.
func TestLoadPeakRSSDuringRun(t *testing.T) {
	g := newFakeGateway(t, func(s, n int64) page {
		rss := 50.0 * mib
		if s == 2 {
			rss = 200 * mib // a peak seen by the first sample within the run
		}
		return page{cpu: 2 + float64(n)*0.01, rss: rss, hwm: 500 * mib, start: 1.7e9, requests: float64(n)}
	})
	rep, err := g.load(t, 2200*time.Millisecond).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := render(t, rep)
	if !strings.Contains(o.text, "; gateway peak RSS 209.7 MB\n") || o.json["gatewayPeakRssMB"] != 209.7 {
		t.Errorf("peak RSS: JSON %v\n%s", o.json["gatewayPeakRssMB"], o.text)
	}
	if !strings.Contains(o.text, "524.3 MB since its start") {
		t.Errorf("the peak since start-up is not named as such:\n%s", o.text)
	}
	if n := g.scrapes.Load(); n < 3 {
		t.Errorf("%d scrapes in a 2.2 s run: RSS not sampled during the run", n)
	}
}

// TestLoadKeepsTheRunWhenMetricsFail: a metrics endpoint that stops
// answering during the run (the gateway was killed) does not lose the
// run: Run returns the report, with the gateway figures unavailable and
// why, and Check fails.
func TestLoadKeepsTheRunWhenMetricsFail(t *testing.T) {
	g := newFakeGateway(t, func(s, n int64) page {
		return page{cpu: 1, rss: 40 * mib, hwm: 40 * mib, start: 1.7e9, requests: float64(n)}
	})
	go func() { // the gateway's metrics listener goes away once the run is under way
		for g.answered.Load() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		g.metrics.CloseClientConnections()
		g.metrics.Close()
	}()
	rep, err := g.load(t, 800*time.Millisecond).Run(context.Background())
	if err != nil {
		t.Fatalf("the run is lost: %v", err)
	}
	o := render(t, rep)
	if rep.Iterations == 0 || !strings.Contains(o.text, fmt.Sprintf("%d iterations (", rep.Iterations)) {
		t.Errorf("no summary:\n%s", o.text)
	}
	if !strings.Contains(o.text, "gateway figures unavailable: ") || strings.Contains(o.text, "gateway peak RSS") {
		t.Errorf("gateway figures not marked unavailable:\n%s", o.text)
	}
	if !strings.Contains(fmt.Sprint(o.json["gateway"]), "connection refused") || !strings.Contains(o.html, "connection refused") {
		t.Errorf("JSON or HTML do not say why: %v", o.json["gateway"])
	}
	if err := rep.Check(); err == nil || !strings.Contains(err.Error(), "gateway figures unavailable") {
		t.Errorf("check: %v", err)
	}
}
