package lambdabench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// Result is one cold start of a bootstrap.
type Result struct {
	// Init is process start → first poll of invocation/next (the runtime
	// is ready: what Lambda reports as Init Duration).
	Init time.Duration
	// FirstInvoke is process start → first invocation answered.
	FirstInvoke time.Duration
	// PeakRSSBytes is VmHWM after the first invocation.
	PeakRSSBytes int64
	// Response is the first invocation's answer.
	Response Response
}

// Measure starts the executable at bootstrap under a fresh fake Runtime
// API with env added to the runtime's variables, sends event as the first
// invocation, and returns the timings and peak RSS. The process is killed
// before Measure returns; its stderr is included in errors.
func Measure(ctx context.Context, bootstrap string, env []string, event []byte) (Result, error) {
	api := NewRuntimeAPI()
	defer api.Close()
	cmd := exec.CommandContext(ctx, bootstrap)
	cmd.Env = append(append(os.Environ(), api.Env()...), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := clock.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	resCh := make(chan Response, 1)
	errCh := make(chan error, 1)
	go func() {
		resp, err := api.Invoke(ctx, event)
		if err != nil {
			errCh <- err
			return
		}
		resCh <- resp
	}()
	var res Result
	select {
	case res.Response = <-resCh:
		res.FirstInvoke = clock.Now().Sub(start)
	case err := <-errCh:
		return Result{}, fmt.Errorf("invoke %s: %w\n%s", bootstrap, err, stderr.String())
	case err := <-exited:
		exited <- err
		return Result{}, fmt.Errorf("%s exited before answering: %v\n%s", bootstrap, err, stderr.String())
	}
	res.Init = api.FirstPoll().Sub(start)
	rss, err := PeakRSS(cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	res.PeakRSSBytes = rss
	return res, nil
}

// PeakRSS returns the peak resident set size (VmHWM) of a live process.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoProcStatus, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("lambdabench: unexpected VmHWM line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("lambdabench: VmHWM: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%w: no VmHWM line", ErrNoProcStatus)
}
