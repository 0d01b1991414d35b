package outbox

import (
	"context"
	"errors"
)

// Deliver delivers the message of one key now, whatever its NextAttempt:
// the SQS-triggered dispatcher calls it for each queue message (the
// queue's redelivery is the backoff). A message that is no longer pending
// is left alone and its state returned. The outcome is stored as RunOnce
// stores it; the returned state is pending when the delivery must be
// retried.
func (d *Dispatcher) Deliver(ctx context.Context, key string) (State, error) {
	g, ok := d.Queue.(interface {
		Get(context.Context, string) (Message, error)
	})
	if !ok {
		return "", errors.New("outbox: the dispatcher's queue cannot get a message by key")
	}
	m, err := g.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if m.State != StatePending {
		return m.State, nil
	}
	return d.deliver(ctx, m)
}
