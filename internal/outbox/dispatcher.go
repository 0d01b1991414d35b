package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/national"
)

// Dispatcher delivers pending messages to the national system.
type Dispatcher struct {
	Queue    Queue
	National national.Dispensations
	// Now is the clock (nil: the system clock).
	Now func() time.Time
	// Horizon is how long delivery of an acknowledged message keeps
	// retrying transient failures (network, timeouts, 5xx, throttling)
	// before it goes to the dead letters; an operator sets it in days
	// (LUXNCP_OUTBOX_HORIZON_DAYS). Default DefaultHorizon.
	Horizon time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff with full
	// jitter between attempts (defaults 2 s and 10 min).
	MinBackoff, MaxBackoff time.Duration
	// Jitter draws the backoff's jitter in [0, n) (nil: math/rand/v2), so
	// a simulation replays a seed exactly.
	Jitter func(n int64) int64
	Log    *slog.Logger
	// Observe, when set, sees each delivery attempt (a span, metrics:
	// internal/telemetry); nil: nothing is observed.
	Observe DeliveryObserver
}

// DeliveryObserver sees one delivery attempt of m; the returned function
// ends it with the state the attempt left m in (pending: retry) and the
// error recording it.
type DeliveryObserver interface {
	Delivery(ctx context.Context, m Message) (context.Context, func(State, error))
}

func (d *Dispatcher) now() time.Time {
	return clock.Or(d.Now)()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// DefaultHorizon: thirty days of retries.
const DefaultHorizon = 30 * 24 * time.Hour

// Result counts what one pass did.
type Result struct{ Delivered, Retried, Dead int }

// RunOnce delivers every due message once.
func (d *Dispatcher) RunOnce(ctx context.Context) (Result, error) {
	var res Result
	due, err := d.Queue.Due(ctx, d.now(), 100)
	if err != nil {
		return res, err
	}
	for _, m := range due {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		outcome, err := d.deliver(ctx, m)
		if err != nil {
			return res, err
		}
		switch outcome {
		case StateDelivered:
			res.Delivered++
		case StateDead:
			res.Dead++
		default:
			res.Retried++
		}
	}
	return res, nil
}

// errWait: a cancel whose dispensation is not delivered yet waits.
var errWait = errors.New("the dispensation this discard reverses is not delivered yet")

func (d *Dispatcher) deliver(ctx context.Context, m Message) (State, error) {
	if d.Observe == nil {
		return d.attempt(ctx, m)
	}
	ctx, end := d.Observe.Delivery(ctx, m)
	st, err := d.attempt(ctx, m)
	end(st, err)
	return st, err
}

func (d *Dispatcher) attempt(ctx context.Context, m Message) (State, error) {
	var err error
	switch m.Kind {
	case KindDispense:
		err = d.National.RecordDispense(ctx, national.Dispense{Key: m.Key, PrescriptionID: m.PrescriptionID, Matricule: m.Matricule, Resource: m.Resource})
	case KindCancel:
		if target, gerr := d.targetState(ctx, m.Target); gerr == nil && target == StatePending {
			err = errWait
		} else {
			err = d.National.CancelDispense(ctx, m.Target)
		}
	default:
		err = fmt.Errorf("%w %q", errUnknownKind, m.Kind)
	}
	m.Attempts++
	switch {
	case err == nil:
		m.State, m.Delivered, m.LastError = StateDelivered, d.now(), ""
		d.log().InfoContext(ctx, "outbox: delivered", "kind", string(m.Kind), "attempts", m.Attempts)
	case Permanent(err):
		// The national side refuses for good. The reservation should make
		// this impossible: alert.
		m.State, m.LastError = StateDead, err.Error()
		d.log().ErrorContext(ctx, "outbox: refused by the national system; moved to dead letters (see luxncp outbox list --state dead)",
			"alert", "outbox-dead-letter", "kind", string(m.Kind), "error", err.Error())
	case d.now().Sub(m.Accepted) > d.horizon():
		m.State, m.LastError = StateDead, "delivery horizon exceeded: "+err.Error()
		d.log().ErrorContext(ctx, "outbox: still failing after the delivery horizon; moved to dead letters",
			"alert", "outbox-dead-letter", "kind", string(m.Kind), "attempts", m.Attempts, "error", err.Error())
	default:
		m.LastError = err.Error()
		m.NextAttempt = d.now().Add(d.backoff(m.Attempts))
		d.log().InfoContext(ctx, "outbox: delivery failed; will retry", "kind", string(m.Kind), "attempts", m.Attempts, "error", err.Error())
	}
	if uerr := d.Queue.Update(ctx, m); uerr != nil {
		return "", uerr
	}
	return m.State, nil
}

func (d *Dispatcher) targetState(ctx context.Context, key string) (State, error) {
	if a, ok := d.Queue.(interface {
		Get(context.Context, string) (Message, error)
	}); ok {
		m, err := a.Get(ctx, key)
		return m.State, err
	}
	return "", ErrNotFound
}

func (d *Dispatcher) horizon() time.Duration {
	if d.Horizon > 0 {
		return d.Horizon
	}
	return DefaultHorizon
}

// Permanent reports whether a delivery error is a refusal by the national
// system that no retry will change: 409 (the record refuses the
// dispensation), 404 (unknown prescription, or a discard of an unknown
// dispensation), an invalid request. Everything else (ErrUnavailable:
// network, timeouts, 5xx, 429; a dispensation not delivered yet) is
// transient and retried until the horizon.
func Permanent(err error) bool {
	return errors.Is(err, national.ErrConflict) || errors.Is(err, national.ErrNotFound) ||
		errors.Is(err, national.ErrBadQuery) || errors.Is(err, errUnknownKind)
}

var errUnknownKind = errors.New("unknown message kind")

// OldestPending is the age of the oldest pending message (0: none), the
// metric the outbox-oldest-pending alarm watches.
func OldestPending(msgs []Message, now time.Time) time.Duration {
	var oldest time.Duration
	for _, m := range msgs {
		if m.State == StatePending && now.Sub(m.Accepted) > oldest {
			oldest = now.Sub(m.Accepted)
		}
	}
	return oldest
}

// backoff is exponential with full jitter, bounded.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	lo, hi := d.MinBackoff, d.MaxBackoff
	if lo <= 0 {
		lo = 2 * time.Second
	}
	if hi <= 0 {
		hi = 10 * time.Minute
	}
	b := lo << min(attempt-1, 20)
	if b > hi || b <= 0 {
		b = hi
	}
	draw := d.Jitter
	if draw == nil {
		draw = rand.Int64N
	}
	return lo + time.Duration(draw(int64(b-lo)+1))
}

// Run delivers until ctx ends, polling every interval (and at once when
// Kick is signalled).
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration, kick <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log().Error("outbox: dispatch pass failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}
