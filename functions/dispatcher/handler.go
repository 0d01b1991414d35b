package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/luxncp/luxncp/internal/outbox"
)

// deliverer delivers the outbox message of one key (*outbox.Dispatcher).
type deliverer interface {
	Deliver(ctx context.Context, key string) (outbox.State, error)
}

type handler struct {
	d   deliverer
	log *slog.Logger
}

// handle delivers each record's key and reports the records to retry: a
// delivery that failed (and stays pending) or could not be recorded. A key
// the outbox does not know, or a message already settled, is done.
func (h *handler) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	retry := func(r events.SQSMessage) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
	}
	for _, r := range ev.Records {
		if ctx.Err() != nil {
			retry(r) // out of time: SQS hands it over again
			continue
		}
		if r.Body == "" {
			h.log.Warn("dispatcher: empty queue message dropped", "messageId", r.MessageId)
			continue
		}
		state, err := h.d.Deliver(ctx, r.Body)
		switch {
		case errors.Is(err, outbox.ErrNotFound):
			h.log.Warn("dispatcher: queue message for no outbox message dropped", "messageId", r.MessageId)
		case err != nil:
			h.log.Error("dispatcher: delivery not recorded; will retry", "messageId", r.MessageId, "error", err.Error())
			retry(r)
		case state == outbox.StatePending:
			retry(r) // the dispatcher logged why; the visibility timeout is the backoff
		}
	}
	return resp, nil
}
