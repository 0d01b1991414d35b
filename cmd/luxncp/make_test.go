package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/testutil"
)

// makeCmd is make in the repository root with the given variables; the
// binary and state stay in temporary directories.
func makeCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("these tests need GNU make (apt-get install make)")
	}
	cmd := exec.Command("make", append([]string{"-s", "-C", testutil.RepoRoot(t)}, args...)...)
	cmd.Env = cleanEnv()
	return cmd
}

// TestMakeAddressVariables: make run takes its addresses from ADDR and
// NATIONAL_ADDR, and make conformance and make load test https://ADDR
// after checking it is the luxncp of STATE_DIR.
func TestMakeAddressVariables(t *testing.T) {
	vars := []string{"ADDR=127.0.0.1:39443", "NATIONAL_ADDR=127.0.0.1:39081", "STATE_DIR=/tmp/st", "BIN=/tmp/bin/luxncp"}
	want := map[string][]string{
		"run":         {"/tmp/bin/luxncp serve --foreground --state-dir /tmp/st --addr 127.0.0.1:39443 --national-addr 127.0.0.1:39081"},
		"run-aws":     {"/tmp/bin/luxncp serve-aws --foreground --functions /tmp/st/aws/functions --state-dir /tmp/st --addr 127.0.0.1:39443 --national-addr 127.0.0.1:39081"},
		"conformance": {"/tmp/bin/luxncp conformance run --target https://127.0.0.1:39443 --expect-luxncp --pki-dir /tmp/st/pki", "--report /tmp/st/conformance.html"},
		"load":        {"/tmp/bin/luxncp conformance load --target https://127.0.0.1:39443 --expect-luxncp --pki-dir /tmp/st/pki", "--rate 20/s --duration 60s"},
	}
	for target, lines := range want {
		out, err := makeCmd(t, append([]string{"-n", target}, vars...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		got := strings.ReplaceAll(string(out), "\\\n\t", "")
		for _, l := range lines {
			if !strings.Contains(got, l) {
				t.Errorf("make -n %s lacks %q:\n%s", target, l, got)
			}
		}
	}
}

// TestMakeConformanceNeedsItsGateway: with nothing on ADDR, make
// conformance and make load stop at once and say how to start it.
func TestMakeConformanceNeedsItsGateway(t *testing.T) {
	addr := freeLoopback(t)
	tmp := t.TempDir()
	for _, target := range []string{"conformance", "load"} {
		cmd := makeCmd(t, target, "ADDR="+addr, "STATE_DIR="+filepath.Join(tmp, "state"), "BIN="+filepath.Join(tmp, "luxncp"))
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no luxncp gateway answers at "+addr+" ") || !strings.Contains(string(out), "start it with make run ADDR="+addr) {
			t.Errorf("make %s without a gateway: %v\n%s", target, err, out)
		}
	}
}

// TestMakeRunCtrlC: Ctrl-C typed at make run's terminal drains the gateway
// and make exits 0 (GNU make itself would die of the SIGINT, exit 130, had
// luxncp not taken the terminal's foreground). script(1) provides the
// terminal; ^C written to it is the keystroke.
func TestMakeRunCtrlC(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("this test needs script(1) (Debian package bsdutils)")
	}
	tmp := t.TempDir()
	run := strings.Join([]string{"make", "-s", "-C", testutil.RepoRoot(t), "run", "ADDR=" + freeLoopback(t), "NATIONAL_ADDR=" + freeLoopback(t),
		"STATE_DIR=" + filepath.Join(tmp, "state"), "BIN=" + filepath.Join(tmp, "luxncp")}, " ")
	cmd := exec.Command("script", "-qefc", run, "/dev/null")
	cmd.Env = cleanEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out := startWatched(t, cmd, "luxncp is serving", 120*time.Second)
	stdin.Write([]byte{3}) // Ctrl-C
	if code := exitWithin(t, cmd, 40*time.Second); code != 0 {
		t.Fatalf("make run exited %d after Ctrl-C\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "luxncp stopped") {
		t.Errorf("no 'luxncp stopped':\n%s", out.String())
	}
}
