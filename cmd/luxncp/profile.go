package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// runProfiled runs the load under the profilers asked for (conformance load
// --cpuprofile, --memprofile): a CPU profile of run to cpuFile and, after
// it, the allocation profile (every allocation since the process started,
// and the heap left at the end) to memFile. Empty names profile nothing.
// The profiles are written even when run fails; a profile that cannot be
// written is an error.
func runProfiled[T any](cpuFile, memFile string, run func() (T, error)) (T, error) {
	var cpu *os.File
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err != nil {
			var zero T
			return zero, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			var zero T
			return zero, fmt.Errorf("--cpuprofile: %w", err)
		}
		cpu = f
	}
	v, err := run()
	if cpu != nil {
		pprof.StopCPUProfile()
		if cerr := cpu.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("--cpuprofile: %w", cerr)
		}
	}
	if memFile != "" {
		if merr := writeMemProfile(memFile); merr != nil && err == nil {
			err = merr
		}
	}
	return v, err
}

func writeMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	runtime.GC() // the heap figures are those of the last collection
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	return nil
}
