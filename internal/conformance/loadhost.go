package conformance

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
