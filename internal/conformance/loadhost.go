package conformance

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessSample is what a gateway's metrics endpoint says about its
// process (Prometheus text format 0.0.4: process_cpu_seconds_total,
// process_resident_memory_bytes, process_start_time_seconds,
// luxncp_process_peak_resident_memory_bytes) and the requests it counted
// (luxncp_requests_total, summed over its labels; internal/telemetry).
type ProcessSample struct {
	CPUSeconds float64
	RSSBytes   float64
	PeakRSS    float64 // VmHWM, the peak since start-up; 0 when the target does not export it
	StartTime  float64 // Unix seconds; 0 when the target does not export it
	Requests   float64 // 0 when the process has counted none (no series yet)
}

// requestsSeries is the gateway's request counter, one series per
// transaction, outcome, country and code: every Country A request is
// counted just before its response is written (internal/telemetry).
const requestsSeries = "luxncp_requests_total"

// ScrapeProcess reads the process figures of the metrics endpoint at url.
func ScrapeProcess(ctx context.Context, url string) (ProcessSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ProcessSample{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ProcessSample{}, fmt.Errorf("metrics %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return ProcessSample{}, fmt.Errorf("metrics %s: HTTP %d", url, res.StatusCode)
	}
	var s ProcessSample
	found := false
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := sampleLine(sc.Text())
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.CPUSeconds, found = v, true
		case "process_resident_memory_bytes":
			s.RSSBytes = v
		case "process_start_time_seconds":
			s.StartTime = v
		case "luxncp_process_peak_resident_memory_bytes":
			s.PeakRSS = v
		case requestsSeries:
			s.Requests += v
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("metrics %s: %w", url, err)
	}
	if !found {
		return s, fmt.Errorf("metrics %s: no process_cpu_seconds_total", url)
	}
	if s.PeakRSS > 0 && s.PeakRSS < s.RSSBytes {
		// The two series are read at slightly different moments: the peak
		// is at least what is resident now.
		s.PeakRSS = s.RSSBytes
	}
	return s, nil
}

// sampleLine reads one sample line of the text format — name, optional
// {labels}, value, optional timestamp — into its metric name and value.
func sampleLine(line string) (string, float64, bool) {
	if line == "" || line[0] == '#' {
		return "", 0, false
	}
	name, rest := line, ""
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		name, rest = line[:i], line[i:]
	}
	if strings.HasPrefix(rest, "{") {
		// Label values may hold spaces; the value follows the last brace.
		j := strings.LastIndexByte(rest, '}')
		if j < 0 {
			return "", 0, false
		}
		rest = rest[j+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return name, v, err == nil
}

// selfCPU is this process's user + system CPU time (the generator's).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// DefaultMetricsEvery is how often a load run samples the gateway's
// metrics endpoint between its samples at the start and at the end.
const DefaultMetricsEvery = time.Second

// GatewayCheck is what a load run with --metrics learnt of the scraped
// gateway: whether its figures are this run's (Measured), and if not, why.
type GatewayCheck struct {
	Metrics  string `json:"metrics"`
	Measured bool   `json:"measured"`
	// Unavailable is why the gateway figures are absent (Measured false).
	Unavailable string `json:"unavailable,omitempty"`
	// Requests is how much the gateway's luxncp_requests_total rose during
	// the run (absent when it could not be read at the end).
	Requests *int64 `json:"requests,omitempty"`
	// Samples of the metrics endpoint that answered (at the start, every
	// SampleEvery during the run, at the end) and those that did not.
	Samples     int    `json:"samples"`
	Missed      int    `json:"missedSamples,omitempty"`
	SampleEvery Millis `json:"sampleEveryMs"`
	// PeakRSSSinceStartMB is the process's peak since its start-up
	// (VmHWM), which may predate the run.
	PeakRSSSinceStartMB *float64 `json:"peakRssSinceStartMB,omitempty"`
}

// otherRequests bounds the requests of others a scraped gateway may serve
// during a run: at most as many as the run sent, plus this.
const otherRequests = 100

// judge says why a gateway's metrics do not describe the run, or "" when
// they do: rise is how much its request counter rose between the samples
// at the start and at the end of the run, restarted whether any sample
// saw its start time or counters change (another process). The gateway
// counts a request before it answers, so the rise must cover every
// request of the run that got an answer; requests of others may add to
// it, but not more than the run sent (+otherRequests).
func judge(rise int64, restarted bool, sent, answered int) string {
	switch {
	case restarted:
		return "the gateway restarted during the run (its start time changed or its counters went back): its figures are not this run's"
	case rise < int64(answered):
		return fmt.Sprintf("the metrics endpoint did not serve this run's requests: its %s rose by %d during the run, but %d of this run's requests were answered (does --metrics belong to the --target's gateway?)",
			requestsSeries, rise, answered)
	case rise > 2*int64(sent)+otherRequests:
		return fmt.Sprintf("the gateway counted %d requests during the run but this run sent %d: more than as many again (+%d) were others', so its figures are not this run's",
			rise, sent, otherRequests)
	}
	return ""
}

// gatewayWatch samples the gateway's metrics endpoint during a run.
type gatewayWatch struct {
	url   string
	every time.Duration

	mu      sync.Mutex
	first   ProcessSample
	prev    ProcessSample
	peakRSS float64
	peakHWM float64
	samples int
	missed  int
	restart bool // a sample's start time changed or its counters went back
}

// watchGateway takes the first sample; an error means the run should not
// start (the endpoint does not answer or is no process metrics page).
func watchGateway(ctx context.Context, url string, every time.Duration) (*gatewayWatch, error) {
	s, err := ScrapeProcess(ctx, url)
	if err != nil {
		return nil, err
	}
	w := &gatewayWatch{url: url, every: every, first: s, prev: s}
	w.add(s)
	return w, nil
}

func (w *gatewayWatch) add(s ProcessSample) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.StartTime != w.prev.StartTime || s.CPUSeconds < w.prev.CPUSeconds || s.Requests < w.prev.Requests {
		w.restart = true
	}
	w.prev = s
	w.samples++
	w.peakRSS = max(w.peakRSS, s.RSSBytes)
	w.peakHWM = max(w.peakHWM, s.PeakRSS)
}

// sample takes a sample every w.every until ctx ends; failed samples are
// counted (the one at the end decides).
func (w *gatewayWatch) sample(ctx context.Context) {
	tickUntil(ctx, w.every, func() {
		s, err := ScrapeProcess(ctx, w.url)
		switch {
		case err == nil:
			w.add(s)
		case ctx.Err() == nil:
			w.mu.Lock()
			w.missed++
			w.mu.Unlock()
		}
	})
}

// mb is bytes in MB (10^6 bytes), to 0.1.
func mb(bytes float64) float64 { return math.Round(bytes/1e5) / 10 }

// finish takes the sample at the end of the run and sets the report's
// gateway figures, or says why there are none. A failure here never loses
// the run: the report says the figures are unavailable and why.
func (w *gatewayWatch) finish(ctx context.Context, rep *LoadReport) {
	g := &GatewayCheck{Metrics: w.url, SampleEvery: Ms(w.every)}
	rep.Gateway = g
	last, err := ScrapeProcess(ctx, w.url)
	if err == nil {
		w.add(last)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	g.Samples, g.Missed = w.samples, w.missed
	if err != nil {
		g.Unavailable = fmt.Sprintf("no sample at the end of the run (did the gateway stop?): %v", err)
		return
	}
	rise := int64(math.Round(last.Requests - w.first.Requests))
	g.Requests = &rise
	if g.Unavailable = judge(rise, w.restart, rep.RequestsSent, rep.RequestsAnswered); g.Unavailable != "" {
		return
	}
	if rep.Iterations == 0 {
		g.Unavailable = "no iteration ran"
		return
	}
	g.Measured = true
	cpu := Ms(time.Duration((last.CPUSeconds - w.first.CPUSeconds) / float64(rep.Iterations) * float64(time.Second)))
	peak := mb(w.peakRSS)
	rep.GatewayCPUPerIteration, rep.GatewayPeakRSSMB = &cpu, &peak
	if w.peakHWM > 0 {
		hwm := mb(w.peakHWM)
		g.PeakRSSSinceStartMB = &hwm
	}
}
