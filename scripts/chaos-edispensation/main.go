// Command chaos-edispensation is the black-box chaos test of the
// eDispensation promise (issue 14, docs/edispensation.md): every Success is
// exactly one national effect, eventually; every refusal none; no
// prescription over its allowance; every discard reverses exactly once;
// nothing lost.
//
// It builds luxncp (or takes -luxncp), starts the demo national backend
// alone (`luxncp national`) and the real gateway (`luxncp serve --no-peers`,
// LUXNCP_NATIONAL_URL pointing at it), both on free loopback ports with
// their state in a temporary directory, and runs concurrent pharmacies (FR,
// BE, DE, with the dev PKI of that directory) that submit, resend and
// discard eDispensations over mutual TLS and retry what did not get a
// definitive answer. Meanwhile it kills the gateway with SIGKILL at random
// moments and restarts it, and pauses (SIGSTOP) and resumes (SIGCONT) the
// national backend. When the work is done it resumes everything, waits for
// the outbox to drain, and checks the answers against the national record
// (MedicationDispense?prescription=…), the outbox's dead letters and the
// audit chain. Bounded in operations and time, loopback only; exit status 1
// when an invariant fails (each one is printed), 2 on a setup error.
//
//	go run ./scripts/chaos-edispensation -clients 8 -ops 600 -kill-every 3s -pause-every 5s
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.Luxncp, "luxncp", "", "luxncp binary (default: go build ./cmd/luxncp into the work directory)")
	flag.StringVar(&o.Work, "work", "", "work directory: state, logs (default: a new temporary directory, removed when every invariant holds)")
	flag.IntVar(&o.Clients, "clients", 8, "concurrent pharmacies")
	flag.IntVar(&o.Ops, "ops", 600, "operations in all (submits, resends, discards)")
	flag.DurationVar(&o.Duration, "duration", 5*time.Minute, "longest time for the operations")
	flag.DurationVar(&o.KillEvery, "kill-every", 3*time.Second, "mean time between two SIGKILLs of the gateway (0: none)")
	flag.DurationVar(&o.PauseEvery, "pause-every", 5*time.Second, "mean time between two pauses of the national backend (0: none)")
	flag.DurationVar(&o.PauseFor, "pause-for", 2*time.Second, "longest pause of the national backend")
	flag.DurationVar(&o.Drain, "drain", 2*time.Minute, "longest wait for the outbox to drain at the end")
	flag.Int64Var(&o.Seed, "seed", 0, "random seed (0: from the clock; printed)")
	flag.Parse()
	o.Log = os.Stderr
	rep, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-edispensation:", err)
		os.Exit(2)
	}
	fmt.Println(rep.String())
	if len(rep.Violations) > 0 {
		os.Exit(1)
	}
}
