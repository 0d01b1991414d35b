package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestRunProfiled: conformance load --cpuprofile and --memprofile write
// pprof files (gzip-compressed protobuf) around the run, also when the run
// fails, and an unwritable profile is an error.
func TestRunProfiled(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	boom := errors.New("boom")
	v, err := runProfiled(cpu, mem, func() (int, error) {
		s := 0
		for i := range 1 << 20 {
			s += i
		}
		return s, boom
	})
	if !errors.Is(err, boom) || v == 0 {
		t.Fatalf("run's result and error not passed through: %d, %v", v, err)
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: not a pprof file (%d bytes, %v)", filepath.Base(f), len(b), err)
		}
	}
	if _, err := runProfiled(filepath.Join(dir, "no", "cpu"), "", func() (int, error) { return 0, nil }); err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("unwritable CPU profile: %v", err)
	}
	if _, err := runProfiled("", filepath.Join(dir, "no", "mem"), func() (int, error) { return 0, nil }); err == nil || !strings.Contains(err.Error(), "--memprofile") {
		t.Errorf("unwritable memory profile: %v", err)
	}
}

// TestLoadGC: conformance load collects at GOGC=400 unless GOGC is set.
func TestLoadGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	loadGC()
	if got := debug.SetGCPercent(100); got != loadGCPercent {
		t.Errorf("GOGC unset: collector target %d, want %d", got, loadGCPercent)
	}
	t.Setenv("GOGC", "150")
	loadGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: collector target changed to %d", got)
	}
}
