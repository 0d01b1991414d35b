// Package clock is luxncp's one reading of the wall clock.
//
// Every check that depends on the date — certificate validity (RFC 5280
// §4.1.2.5), SAML assertion conditions (SAML 2.0 Core §2.5.1), WS-Security
// timestamps, outbox due times, prescription expiry — reads time through a
// func() time.Time that its owner is given; when none is given, it falls back
// to [System]. Nothing else in luxncp calls time.Now (a test in this package
// enforces it), so one environment variable can move the whole process in
// time:
//
//	LUXNCP_CLOCK_OFFSET=8760h luxncp serve   # the gateway lives a year ahead
//
// `make test` runs the clock-sensitive packages a second time that way, so a
// fixed date, an expiring fixture or a clock mixed with the real one fails in
// CI before it fails in production.
//
// Kernel deadlines (net.Conn.SetDeadline) are measured by the kernel in real
// time and must not be shifted: [IODeadline] gives those.
package clock

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// OffsetEnv names the environment variable that shifts [System] by a Go
// duration ("8760h", "-90m"). Unset or empty means no shift.
const OffsetEnv = "LUXNCP_CLOCK_OFFSET"

// Offset returns the shift configured by [OffsetEnv], or an error naming the
// variable when its value is not a duration.
func Offset() (time.Duration, error) {
	v := os.Getenv(OffsetEnv)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a duration like 8760h: %w", OffsetEnv, v, err)
	}
	return d, nil
}

// System returns the process clock: the wall clock shifted by [OffsetEnv],
// read once now. A malformed offset is reported by [Offset] (serve refuses to
// start on it) and counts as no shift here.
//
// The values it returns keep Go's monotonic reading, so Sub between two of
// them measures elapsed time correctly whatever the offset.
func System() func() time.Time {
	d, _ := Offset()
	if d == 0 {
		return time.Now
	}
	return func() time.Time { return time.Now().Add(d) }
}

// Now reads [System] once. Prefer keeping the func from System (or the one
// injected into a component) over calling Now repeatedly.
func Now() time.Time { return System()() }

// Or returns now, or [System] when now is nil: the default every component
// with an injectable clock uses.
func Or(now func() time.Time) func() time.Time {
	if now == nil {
		return System()
	}
	return now
}

// Since is now().Sub(t): elapsed time measured on the given clock.
func Since(now func() time.Time, t time.Time) time.Duration { return now().Sub(t) }

// IODeadline returns the real instant d from now, for deadlines the kernel
// enforces (net.Conn.SetDeadline, Lambda runtime deadlines). It is never
// shifted: a deadline a year away would be no deadline at all.
func IODeadline(d time.Duration) time.Time { return time.Now().Add(d) }

// Fake is a settable clock for tests and simulations. The zero value is not
// usable; make one with [NewFake].
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a clock stopped at t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Advance moves the fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// Set moves the fake to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.t = t
	f.mu.Unlock()
}
