package national

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// ErrBreakerOpen: the national system is known to be down; the call was
// not made. It wraps ErrUnavailable, so callers answer it as any outage
// (the eHDSI "registry not available" codes), at once.
var ErrBreakerOpen = fmt.Errorf("%w: circuit open (the national system failed repeatedly; not called)", ErrUnavailable)

// Breaker is a circuit breaker in front of a Source: after Failures
// consecutive ErrUnavailable answers it opens and fails every call at once
// with ErrBreakerOpen for Cooldown; then it lets one call through (half
// open): a success closes it, a failure opens it again. Answers that are
// not outages (not found, conflict) count as successes: the system is up.
type Breaker struct {
	Source Source
	// Failures that open the breaker (default 3) and how long it stays
	// open before a trial call (default 5 s).
	Failures int
	Cooldown time.Duration
	// Now is the clock (nil: the system clock).
	Now func() time.Time

	mu       sync.Mutex
	failed   int
	openedAt time.Time
	trial    bool // a half-open trial call is in flight
}

var _ Source = (*Breaker)(nil)

func (b *Breaker) limits() (int, time.Duration) {
	n, d := b.Failures, b.Cooldown
	if n <= 0 {
		n = 3
	}
	if d <= 0 {
		d = 5 * time.Second
	}
	return n, d
}

// allow reports whether a call may go through now.
func (b *Breaker) allow() bool {
	n, cool := b.limits()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed < n {
		return true
	}
	if b.trial || clock.Or(b.Now)().Sub(b.openedAt) < cool {
		return false
	}
	b.trial = true
	return true
}

func (b *Breaker) done(err error) {
	n, _ := b.limits()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) {
		b.failed = 0
		return
	}
	b.failed++
	if b.failed >= n {
		b.openedAt = clock.Or(b.Now)()
	}
}

// Open reports whether the breaker is failing calls fast now.
func (b *Breaker) Open() bool {
	n, cool := b.limits()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed >= n && (b.trial || clock.Or(b.Now)().Sub(b.openedAt) < cool)
}

func call[T any](b *Breaker, f func() (T, error)) (T, error) {
	if !b.allow() {
		var zero T
		return zero, ErrBreakerOpen
	}
	v, err := f()
	b.done(err)
	return v, err
}

// FindPatients implements Source.
func (b *Breaker) FindPatients(ctx context.Context, q PatientQuery) ([]Patient, error) {
	return call(b, func() ([]Patient, error) { return b.Source.FindPatients(ctx, q) })
}

// Consent implements Source.
func (b *Breaker) Consent(ctx context.Context, m string) (Consent, error) {
	return call(b, func() (Consent, error) { return b.Source.Consent(ctx, m) })
}

// ListDocuments implements Source.
func (b *Breaker) ListDocuments(ctx context.Context, m, class string) ([]DocumentRef, error) {
	return call(b, func() ([]DocumentRef, error) { return b.Source.ListDocuments(ctx, m, class) })
}

// Fetch implements Source.
func (b *Breaker) Fetch(ctx context.Context, ref DocumentRef) ([]byte, string, error) {
	type r struct {
		b  []byte
		ct string
	}
	v, err := call(b, func() (r, error) { c, ct, err := b.Source.Fetch(ctx, ref); return r{c, ct}, err })
	return v.b, v.ct, err
}

// RecordDispense implements Source.
func (b *Breaker) RecordDispense(ctx context.Context, d Dispense) error {
	_, err := call(b, func() (struct{}, error) { return struct{}{}, b.Source.RecordDispense(ctx, d) })
	return err
}

// CancelDispense implements Source.
func (b *Breaker) CancelDispense(ctx context.Context, key string) error {
	_, err := call(b, func() (struct{}, error) { return struct{}{}, b.Source.CancelDispense(ctx, key) })
	return err
}

// DispenseLister lists the active dispensations of a prescription item
// (Client.ActiveDispenses).
type DispenseLister interface {
	ActiveDispenses(ctx context.Context, prescriptionID string) ([]string, error)
}

// ErrNoDispenseList: the source cannot list dispensations (a test double);
// callers fall back on what the prescription itself says.
var ErrNoDispenseList = errors.New("the national source does not list dispensations")

// ActiveDispenses passes the call on when the Source lists dispensations;
// otherwise it answers ErrNoDispenseList.
func (b *Breaker) ActiveDispenses(ctx context.Context, prescriptionID string) ([]string, error) {
	l, ok := b.Source.(DispenseLister)
	if !ok {
		return nil, ErrNoDispenseList
	}
	return call(b, func() ([]string, error) { return l.ActiveDispenses(ctx, prescriptionID) })
}
