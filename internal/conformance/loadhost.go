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
// process (Prometheus text format: process_cpu_seconds_total,
// process_resident_memory_bytes, luxncp_process_peak_resident_memory_bytes).
type ProcessSample struct {
	CPUSeconds float64
	RSSBytes   float64
	PeakRSS    float64 // 0 when the target does not export it
}

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
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.CPUSeconds, found = v, true
		case "process_resident_memory_bytes":
			s.RSSBytes = v
		case "luxncp_process_peak_resident_memory_bytes":
			s.PeakRSS = v
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

// selfCPU is this process's user + system CPU time (the generator's).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
