// Package outbox keeps accepted eDispensations (and their discards) durably
// until the national system has applied them, exactly once.
//
// The XDR responder acknowledges an eDispensation only after Accept has
// recorded it durably (locally: an fsync'd file per message; on AWS: a
// DynamoDB conditional write, then an SQS message). A Dispatcher delivers
// each message to the national system with its idempotency key — the
// eDispensation document id — so a resubmission, a retry or a crash between
// accept and delivery has one effect at the national side. Messages the
// national side refuses for good go to the dead letters, which an operator
// lists and replays (`luxncp outbox list|replay`).
package outbox
