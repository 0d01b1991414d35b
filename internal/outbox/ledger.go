package outbox

import (
	"context"
	"errors"
)

// The eDispensation state machine (docs/edispensation.md draws it).
//
// An eDispensation id (Message.Key of a dispense) lives through these
// states, recorded in the outbox on both hosts:
//
//	(none) ──Dispense──▶ accepted ──deliver──▶ delivered
//	                        │                     │
//	                        └──────Discard────────┴──▶ discarding ──deliver──▶ discarded
//	accepted ──permanent refusal / horizon──▶ dead ──operator replay──▶ accepted
//	                                            └──operator resolve──▶ resolved
//
// Rules, each enforced by the stores through admit (one function for both):
//   - First acceptance binds the id to (patient, prescription item,
//     country, organisation, content hash) and reserves one dispensation of
//     the prescription item, atomically: the reservations plus the
//     dispensations the national record lists that luxncp did not make
//     never exceed what the prescription allows.
//   - The same id with the same binding is a duplicate: Success, no effect.
//   - The same id with another binding is a conflict: refused, no effect.
//   - A dispensation that has a discard is never accepted again.
//   - A reservation is released only when the discard is delivered (the
//     national record no longer counts it) or an operator resolves a dead
//     dispensation; until then it keeps counting, so the national record
//     never sees more dispensations than allowed.
//   - Delivery retries transient failures for as long as the horizon
//     (Dispatcher.Horizon); only a permanent refusal or the horizon makes a
//     message dead, which raises the dead-letter alert.

// StateResolved: an operator closed a dead message without delivering it
// (`luxncp outbox resolve`); its reservation is released.
const StateResolved State = "resolved"

// Binding is what an eDispensation id is bound to at its first acceptance.
type Binding struct {
	Matricule      string
	PrescriptionID string
	Country        string
	Organisation   string
	ContentHash    string
}

// Binding returns the message's binding.
func (m Message) Binding() Binding {
	return Binding{Matricule: m.Matricule, PrescriptionID: m.PrescriptionID, Country: m.Country,
		Organisation: m.Organisation, ContentHash: m.ContentHash}
}

// Verdict is what a Dispense decided.
type Verdict int

const (
	// Accepted: recorded and reserved now; the effect will happen.
	Accepted Verdict = iota + 1
	// Duplicate: the id was accepted before with the same binding.
	Duplicate
	// Conflict: the id is bound to another dispensation.
	Conflict
	// Discarded: the id was accepted and then discarded.
	Discarded
	// Exhausted: the prescription item has no dispensation left.
	Exhausted
)

func (v Verdict) String() string {
	switch v {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	case Discarded:
		return "discarded"
	case Exhausted:
		return "exhausted"
	}
	return "unknown"
}

// Reservation is what a dispensation asks of its prescription item.
type Reservation struct {
	// Allowed is how many dispensations the prescription item allows in
	// all (1 + numberOfRepeatsAllowed).
	Allowed int
	// National lists the keys of the dispensations the national record
	// holds as active for the item (including those luxncp delivered).
	National []string
}

// CancelKey is the key of the discard of the dispensation key.
func CancelKey(key string) string { return "cancel:" + key }

// admit is the acceptance rule of a dispensation m, shared by both stores.
// existing is the message already under m.Key (nil: none), discarded
// whether a discard of m.Key exists, reserved the keys holding a
// reservation on m's prescription item.
func admit(m Message, existing *Message, discarded bool, reserved map[string]bool, r Reservation) Verdict {
	if existing != nil {
		switch {
		case existing.Kind != KindDispense || existing.Binding() != m.Binding():
			return Conflict
		case discarded:
			return Discarded
		}
		return Duplicate
	}
	if reserved[m.Key] {
		return Accepted // reserved by an acceptance that did not finish: finish it
	}
	used := len(reserved)
	for _, k := range r.National {
		if !reserved[k] {
			used++
		}
	}
	if used >= r.Allowed {
		return Exhausted
	}
	return Accepted
}

// holdsReservation reports whether dispense message m still holds its
// reservation, given the state of its discard ("" when none).
func holdsReservation(m Message, cancel State) bool {
	return m.Kind == KindDispense && m.State != StateResolved && cancel != StateDelivered
}

// Ledger is what the XDR responder needs: the state machine's two entry
// points and a read.
type Ledger interface {
	// Dispense accepts the dispensation m (Kind dispense) under the rules
	// above, atomically with its reservation; the returned message is the
	// one stored under m.Key (m itself when Accepted).
	Dispense(ctx context.Context, m Message, r Reservation) (Message, Verdict, error)
	// Accept records a message (a discard: Kind cancel, Key
	// CancelKey(Target)) unless one with the same key exists.
	Accept(ctx context.Context, m Message) (stored Message, inserted bool, err error)
	// Get returns the message of a key (ErrNotFound).
	Get(ctx context.Context, key string) (Message, error)
}

// ErrNotDead: an operator action on a message that is not dead.
var ErrNotDead = errors.New("outbox: the message is not dead")
