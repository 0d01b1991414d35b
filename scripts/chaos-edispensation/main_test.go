package main

import (
	"testing"
	"time"
)

// TestChaosSmall runs the chaos test at a small size: the real gateway
// killed with SIGKILL and restarted, the national backend paused and
// resumed, four pharmacies submitting, resending and discarding with
// retries; then every invariant checked against the national record.
// docs/edispensation.md gives the large size and its figures.
func TestChaosSmall(t *testing.T) {
	rep, err := run(options{Work: t.TempDir(), Clients: 4, Ops: 300, Duration: 15 * time.Second,
		KillEvery: 1500 * time.Millisecond, PauseEvery: 2 * time.Second, PauseFor: time.Second, Drain: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.String())
	if len(rep.Violations) > 0 {
		t.Fatalf("%d invariants failed (replay with -seed %d)", len(rep.Violations), rep.Seed)
	}
	if rep.Kills == 0 || rep.Pauses == 0 || rep.Accepted == 0 || rep.Discards == 0 || rep.Records == 0 {
		t.Fatalf("the run did not exercise the promise: %s", rep.String())
	}
}
