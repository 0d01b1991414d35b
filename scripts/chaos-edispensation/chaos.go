package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// options sizes a run.
type options struct {
	Luxncp     string
	Work       string
	Clients    int
	Ops        int
	Duration   time.Duration
	KillEvery  time.Duration
	PauseEvery time.Duration
	PauseFor   time.Duration
	Drain      time.Duration
	Seed       int64
	Log        io.Writer
}

// report is what a run did and found.
type report struct {
	Seed                                       int64
	Work                                       string
	Submits, Resends, Discards, ForeignDiscard int
	Accepted, GaveUp                           int
	Refused                                    map[string]int // eHDSI code → count
	Retries                                    int64          // attempts without a definitive answer
	Kills, Pauses                              int
	Records                                    int // national dispensations checked
	Checks                                     int // invariant checks made
	Elapsed, DrainTime                         time.Duration
	Violations                                 []string
}

func (r *report) String() string {
	var b strings.Builder
	codes := make([]string, 0, len(r.Refused))
	for c, n := range r.Refused {
		codes = append(codes, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(codes)
	fmt.Fprintf(&b, "chaos-edispensation seed %d: %d submits (%d Success, %d refused [%s], %d gave up), %d resends, %d owner discards, %d foreign discards\n",
		r.Seed, r.Submits, r.Accepted, r.Submits-r.Accepted-r.GaveUp, strings.Join(codes, ", "), r.GaveUp, r.Resends, r.Discards, r.ForeignDiscard)
	fmt.Fprintf(&b, "  %d SIGKILLs of the gateway, %d pauses of the national backend, %d retried attempts; drained in %s; %s in all\n",
		r.Kills, r.Pauses, r.Retries, r.DrainTime.Round(100*time.Millisecond), r.Elapsed.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "  %d national dispensations checked, %d invariant checks, %d violations", r.Records, r.Checks, len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n  VIOLATION %s", v)
	}
	if len(r.Violations) > 0 {
		fmt.Fprintf(&b, "\n  logs and state: %s", r.Work)
	}
	return b.String()
}

// run is one chaos run.
func run(o options) (*report, error) {
	if o.Clients <= 0 || o.Ops <= 0 || o.Duration <= 0 {
		return nil, errors.New("-clients, -ops and -duration must be positive")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Seed == 0 {
		o.Seed = clock.Now().UnixNano()
	}
	start := clock.Now()
	rep := &report{Seed: o.Seed, Refused: map[string]int{}}
	keep := o.Work != ""
	if !keep {
		d, err := os.MkdirTemp("", "luxncp-chaos-")
		if err != nil {
			return nil, err
		}
		o.Work = d
	}
	rep.Work = o.Work
	state, logs, cwd := filepath.Join(o.Work, "state"), filepath.Join(o.Work, "logs"), filepath.Join(o.Work, "cwd")
	for _, d := range []string{state, logs, cwd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if o.Luxncp == "" {
		o.Luxncp = filepath.Join(o.Work, "luxncp")
		fmt.Fprintf(o.Log, "building luxncp into %s\n", o.Luxncp)
		if out, err := exec.Command("go", "build", "-o", o.Luxncp, "github.com/luxncp/luxncp/cmd/luxncp").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	natAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	gwAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	natURL := "http://" + natAddr + "/fhir"
	nat := &proc{name: "national", bin: o.Luxncp, dir: cwd, logs: logs, env: childEnv("LUXNCP_LOG_LEVEL=warn"),
		args: []string{"national", "--addr", natAddr, "--state-dir", state}}
	// The gateway runs in an empty working directory: whatever it writes
	// outside its state directory shows up there.
	gw := &proc{name: "gateway", bin: o.Luxncp, dir: cwd, logs: logs,
		env:  childEnv("LUXNCP_NATIONAL_URL="+natURL, "LUXNCP_NATIONAL_TIMEOUT=1s", "LUXNCP_OUTBOX_MAX_BACKOFF=2s", "LUXNCP_LOG_LEVEL=warn"),
		args: []string{"serve", "--addr", gwAddr, "--national-addr", "", "--no-peers", "--state-dir", state}}
	defer gw.stop()
	defer nat.stop()
	ctx := context.Background()
	plain := &http.Client{Timeout: 5 * time.Second}
	if err := nat.start(); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, plain, natURL+"/MedicationDispense?prescription=rx-0003", 30*time.Second); err != nil {
		return nil, fmt.Errorf("national backend: %w", err)
	}
	pkiDir := filepath.Join(state, "pki")
	health := healthClient(pkiDir)
	gwURL := "https://" + gwAddr
	startGateway := func() error {
		if err := gw.start(); err != nil {
			return err
		}
		return waitHTTP(ctx, health, gwURL+"/healthz", 60*time.Second)
	}
	if err := startGateway(); err != nil {
		return nil, fmt.Errorf("gateway: %w (log in %s)", err, logs)
	}
	allowed, err := allowances(plain, natURL)
	if err != nil {
		return nil, err
	}
	w, err := newWorkload(o, pkiDir, gwURL, rep)
	if err != nil {
		return nil, err
	}

	// The chaos: SIGKILL and restart the gateway, SIGSTOP and SIGCONT the
	// national backend, at random moments until the work is done.
	wctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var chaos sync.WaitGroup
	var chaosErr atomic.Value
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 1))
	var rngMu sync.Mutex
	between := func(mean time.Duration) time.Duration {
		rngMu.Lock()
		defer rngMu.Unlock()
		return time.Duration(rng.Int64N(int64(2*mean) + 1))
	}
	sleep := func(d time.Duration) bool {
		select {
		case <-wctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if o.KillEvery > 0 {
		chaos.Add(1)
		go func() {
			defer chaos.Done()
			for sleep(between(o.KillEvery)) {
				gw.kill()
				rep.Kills++
				if err := startGateway(); err != nil {
					chaosErr.Store(fmt.Errorf("gateway restart %d: %w (logs in %s)", rep.Kills, err, logs))
					cancel()
					return
				}
			}
		}()
	}
	if o.PauseEvery > 0 {
		chaos.Add(1)
		go func() {
			defer chaos.Done()
			for sleep(between(o.PauseEvery)) {
				nat.signal(syscall.SIGSTOP)
				rep.Pauses++
				sleep(between(o.PauseFor / 2))
				nat.signal(syscall.SIGCONT)
			}
		}()
	}
	w.run(wctx)
	cancel()
	chaos.Wait()
	nat.signal(syscall.SIGCONT)
	if err, _ := chaosErr.Load().(error); err != nil {
		return nil, err
	}
	// Whatever the timing, the outbox drains through one more outage and
	// one more SIGKILL.
	if o.PauseEvery > 0 {
		nat.signal(syscall.SIGSTOP)
		rep.Pauses++
		time.Sleep(o.PauseFor)
		nat.signal(syscall.SIGCONT)
	}
	if o.KillEvery > 0 {
		gw.kill()
		rep.Kills++
		if err := startGateway(); err != nil {
			return nil, fmt.Errorf("gateway restart %d: %w (logs in %s)", rep.Kills, err, logs)
		}
	}

	// Nothing pending: every acknowledged effect reached the national record.
	drainStart := clock.Now()
	if err := drain(ctx, o, state); err != nil {
		rep.Violations = append(rep.Violations, err.Error())
	}
	rep.DrainTime = clock.Now().Sub(drainStart)
	check(rep, w, plain, natURL, allowed)
	if out, err := exec.Command(o.Luxncp, "audit", "verify", "--state-dir", state).CombinedOutput(); err != nil {
		rep.Violations = append(rep.Violations, fmt.Sprintf("the audit chain does not verify after %d kills: %v\n%s", rep.Kills, err, out))
	}
	rep.Checks++
	if ents, _ := os.ReadDir(cwd); len(ents) > 0 {
		rep.Violations = append(rep.Violations, fmt.Sprintf("the gateway wrote outside its state directory: %s holds %s", cwd, ents[0].Name()))
	}
	rep.Checks++
	rep.Elapsed = clock.Now().Sub(start)
	gw.stop()
	nat.stop()
	if len(rep.Violations) == 0 && !keep {
		os.RemoveAll(o.Work)
	}
	return rep, nil
}

// drain waits until the outbox has no pending message, then checks that
// it has no dead letter either (a permanent national refusal: the
// reservation should make it impossible).
func drain(ctx context.Context, o options, state string) error {
	list := func(st string) ([]json.RawMessage, error) {
		out, err := exec.CommandContext(ctx, o.Luxncp, "outbox", "list", "--state", st, "--json", "--state-dir", state).Output()
		if err != nil {
			return nil, fmt.Errorf("luxncp outbox list: %w", err)
		}
		var msgs []json.RawMessage
		if err := json.Unmarshal(out, &msgs); err != nil {
			return nil, fmt.Errorf("luxncp outbox list: %w", err)
		}
		return msgs, nil
	}
	deadline := clock.Now().Add(o.Drain)
	for {
		pending, err := list("pending")
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			break
		}
		if clock.Now().After(deadline) {
			var m struct{ Key, LastError string }
			json.Unmarshal(pending[0], &m)
			return fmt.Errorf("%d messages still pending %s after the end, e.g. %s: %s", len(pending), o.Drain, m.Key, m.LastError)
		}
		time.Sleep(200 * time.Millisecond)
	}
	dead, err := list("dead")
	if err != nil {
		return err
	}
	if len(dead) > 0 {
		var m struct{ Key, LastError string }
		json.Unmarshal(dead[0], &m)
		return fmt.Errorf("%d dead letters (acknowledged, refused by the national record), e.g. %s: %s", len(dead), m.Key, m.LastError)
	}
	return nil
}
