package telemetry

import (
	"context"
	"errors"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/reqlog"
)

// Source observes every call to the national backend (latency by call and
// result, a "national" span). A nil Telemetry returns s itself.
func (t *Telemetry) Source(s national.Source) national.Source {
	if t == nil {
		return s
	}
	return &source{t: t, s: s}
}

type source struct {
	t *Telemetry
	s national.Source
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, national.ErrNotFound):
		return "not_found"
	case errors.Is(err, national.ErrConflict):
		return "conflict"
	case errors.Is(err, national.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}

func observe[T any](ctx context.Context, t *Telemetry, call string, f func(context.Context) (T, error)) (T, error) {
	ctx, end := t.step(ctx, StepNational, t.steps.WithLabelValues(StepNational))
	start := t.now()
	v, err := f(ctx)
	d := t.now().Sub(start)
	t.national.WithLabelValues(call, result(err)).Observe(d.Seconds())
	invocationOf(ctx).addNational(call, d)
	end(err)
	return v, err
}

func (s *source) FindPatients(ctx context.Context, q national.PatientQuery) ([]national.Patient, error) {
	return observe(ctx, s.t, "find_patients", func(ctx context.Context) ([]national.Patient, error) { return s.s.FindPatients(ctx, q) })
}

func (s *source) Consent(ctx context.Context, m string) (national.Consent, error) {
	return observe(ctx, s.t, "consent", func(ctx context.Context) (national.Consent, error) { return s.s.Consent(ctx, m) })
}

func (s *source) ListDocuments(ctx context.Context, m, class string) ([]national.DocumentRef, error) {
	return observe(ctx, s.t, "list_documents", func(ctx context.Context) ([]national.DocumentRef, error) { return s.s.ListDocuments(ctx, m, class) })
}

func (s *source) Fetch(ctx context.Context, ref national.DocumentRef) ([]byte, string, error) {
	var ct string
	b, err := observe(ctx, s.t, "fetch", func(ctx context.Context) ([]byte, error) {
		b, c, err := s.s.Fetch(ctx, ref)
		ct = c
		return b, err
	})
	return b, ct, err
}

func (s *source) RecordDispense(ctx context.Context, d national.Dispense) error {
	_, err := observe(ctx, s.t, "record_dispense", func(ctx context.Context) (struct{}, error) { return struct{}{}, s.s.RecordDispense(ctx, d) })
	return err
}

func (s *source) CancelDispense(ctx context.Context, key string) error {
	_, err := observe(ctx, s.t, "cancel_dispense", func(ctx context.Context) (struct{}, error) { return struct{}{}, s.s.CancelDispense(ctx, key) })
	return err
}

// ActiveDispenses passes national.DispenseLister through (the breaker asks
// for it).
func (s *source) ActiveDispenses(ctx context.Context, prescriptionID string) ([]string, error) {
	l, ok := s.s.(national.DispenseLister)
	if !ok {
		return nil, national.ErrNoDispenseList
	}
	return observe(ctx, s.t, "active_dispenses", func(ctx context.Context) ([]string, error) { return l.ActiveDispenses(ctx, prescriptionID) })
}

// Ledger observes the XDR responder's outbox writes (an "outbox" step). A
// nil Telemetry returns l itself.
func (t *Telemetry) Ledger(l outbox.Ledger) outbox.Ledger {
	if t == nil {
		return l
	}
	return &ledger{Ledger: l, t: t}
}

type ledger struct {
	outbox.Ledger
	t *Telemetry
}

// withIDs stamps m with the accepting request's identifiers, which its
// delivery's span and logs carry.
func withIDs(ctx context.Context, m outbox.Message) outbox.Message {
	m.RequestID, m.MessageID = reqlog.RequestID(ctx), reqlog.MessageID(ctx)
	return m
}

func (l *ledger) Dispense(ctx context.Context, m outbox.Message, r outbox.Reservation) (outbox.Message, outbox.Verdict, error) {
	m = withIDs(ctx, m)
	ctx, end := l.t.Step(ctx, StepOutbox)
	got, v, err := l.Ledger.Dispense(ctx, m, r)
	end(err)
	return got, v, err
}

func (l *ledger) Accept(ctx context.Context, m outbox.Message) (outbox.Message, bool, error) {
	m = withIDs(ctx, m)
	ctx, end := l.t.Step(ctx, StepOutbox)
	got, ins, err := l.Ledger.Accept(ctx, m)
	end(err)
	return got, ins, err
}
