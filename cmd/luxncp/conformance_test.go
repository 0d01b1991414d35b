package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
)

// TestConformanceLoadMetricsGone: conformance load --metrics whose
// endpoint stops answering during the run (the gateway was killed) still
// prints the summary and writes the JSON and HTML reports, the gateway
// figures marked unavailable with the reason, and exits 1.
func TestConformanceLoadMetricsGone(t *testing.T) {
	var answered atomic.Int64
	target := testkit.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answered.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("process_cpu_seconds_total 1\nprocess_resident_memory_bytes 1e7\n"))
	}))
	defer metrics.Close()
	go func() {
		for answered.Load() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		metrics.CloseClientConnections()
		metrics.Close()
	}()
	dir := t.TempDir()
	report := filepath.Join(dir, "load.json")
	code, out, errs := runCLI(t, "conformance", "load", "--target", target.URL, "--pki-dir", testkit.PKIDir(t),
		"--profile", filepath.Join(testutil.RepoRoot(t), "conformance", "profiles", "lu-demo.json"),
		"--rate", "10/s", "--duration", "800ms", "--metrics", metrics.URL, "--report", report)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "iterations (0 ok, ") || !strings.Contains(out, "gateway figures unavailable: no sample at the end of the run") {
		t.Errorf("no summary, or the gateway figures not marked unavailable:\n%s", out)
	}
	if !strings.Contains(errs, "iterations failed; gateway figures unavailable") {
		t.Errorf("stderr: %s", errs)
	}
	for _, f := range []string{report, filepath.Join(dir, "load.html")} {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "connection refused") {
			t.Errorf("%s: %v, no reason in it", filepath.Base(f), err)
		}
	}
}
