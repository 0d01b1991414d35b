package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freeLoopback is a loopback address nobody listens on (just now).
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// busyAddr is a loopback address a listener holds for the test.
func busyAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// cleanEnv is the environment without LUXNCP_* settings of the caller.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LUXNCP_") {
			env = append(env, kv)
		}
	}
	return env
}

// buildLuxncp builds the binary into a temporary directory.
func buildLuxncp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "luxncp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// output collects a process's output and tells when a line appears.
type output struct {
	mu   sync.Mutex
	text strings.Builder
	seen chan struct{}
	once sync.Once
}

func watch(r io.Reader, want string) *output {
	o := &output{seen: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			o.mu.Lock()
			o.text.WriteString(sc.Text() + "\n")
			o.mu.Unlock()
			if strings.Contains(sc.Text(), want) {
				o.once.Do(func() { close(o.seen) })
			}
		}
	}()
	return o
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.text.String()
}

// wait waits for the wanted line, failing the test after d.
func (o *output) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-o.seen:
	case <-time.After(d):
		t.Fatalf("not seen within %s:\n%s", d, o.String())
	}
}

// startWatched starts cmd and waits up to d for a line containing want
// on its stdout.
func startWatched(t *testing.T, cmd *exec.Cmd, want string, d time.Duration) *output {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := watch(stdout, want)
	out.wait(t, d)
	return out
}

// exitWithin waits for cmd to exit and returns its status.
func exitWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not exit within %s", cmd.Path, d)
		return -1
	}
}

// TestServeBusyPort: a busy gateway or national address fails at once,
// naming the address and how to choose another.
func TestServeBusyPort(t *testing.T) {
	busy := busyAddr(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--addr", busy, "--national-addr", freeLoopback(t)}, []string{busy + " is already in use (another luxncp?); choose another with make run ADDR=127.0.0.1:", " or --addr 127.0.0.1:"}},
		{[]string{"--addr", freeLoopback(t), "--national-addr", busy}, []string{busy + " is already in use (another luxncp?); choose another with make run NATIONAL_ADDR=127.0.0.1:", " or --national-addr 127.0.0.1:"}},
	}
	for _, tc := range cases {
		state := t.TempDir()
		args := append([]string{"serve", "--state-dir", state, "--no-peers"}, tc.args...)
		code, _, errs := runCLI(t, args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1\n%s", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, errs)
			}
		}
		if entries, _ := os.ReadDir(state); len(entries) > 0 {
			t.Errorf("a busy port still set up state: %v", entries)
		}
	}
}

// TestServeSignals: SIGINT (Ctrl-C) and SIGTERM stop the built gateway
// cleanly, with exit status 0.
func TestServeSignals(t *testing.T) {
	bin := buildLuxncp(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			state, cwd := t.TempDir(), t.TempDir()
			cmd := exec.Command(bin, "serve", "--state-dir", state, "--addr", "127.0.0.1:0", "--national-addr", "127.0.0.1:0", "--metrics-addr", "off")
			cmd.Env = cleanEnv()
			cmd.Dir = cwd // --state-dir holds everything: nothing lands in the working directory
			out := startWatched(t, cmd, "luxncp is serving", 60*time.Second)
			cmd.Process.Signal(sig)
			if code := exitWithin(t, cmd, 40*time.Second); code != 0 {
				t.Fatalf("exit %d after %s\n%s", code, sig, out.String())
			}
			if !strings.Contains(out.String(), "luxncp stopped") {
				t.Errorf("no 'luxncp stopped':\n%s", out.String())
			}
			if left, _ := os.ReadDir(cwd); len(left) != 0 {
				t.Errorf("serve --state-dir wrote into its working directory: %v", left)
			}
			for _, f := range []string{"api-callers.json", "pki", "audit"} {
				if _, err := os.Stat(filepath.Join(state, f)); err != nil {
					t.Errorf("serve --state-dir: %s not under the state directory: %v", f, err)
				}
			}
		})
	}
}

// TestServePprofOnlyOnLoopback: the profiler (memory, command line) is
// refused on an admin listener another machine could reach.
func TestServePprofOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:9464", "metrics.example:9464"} {
		code, _, errs := runCLI(t, "serve", "--state-dir", t.TempDir(), "--no-peers", "--addr", freeLoopback(t),
			"--national-addr", freeLoopback(t), "--metrics-addr", addr, "--pprof")
		if code != 1 || !strings.Contains(errs, "--pprof needs a loopback --metrics-addr") {
			t.Errorf("--metrics-addr %s --pprof: exit %d\n%s", addr, code, errs)
		}
	}
	for _, addr := range []string{"127.0.0.1:9464", "[::1]:9464", "localhost:9464"} {
		if !loopbackAddr(addr) {
			t.Errorf("%s is loopback", addr)
		}
	}
}
