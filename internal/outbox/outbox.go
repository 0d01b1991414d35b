package outbox

import (
	"context"
	"errors"
	"time"
)

// Kind of a message.
type Kind string

const (
	KindDispense Kind = "dispense" // record a MedicationDispense
	KindCancel   Kind = "cancel"   // reverse the dispensation under Target
)

// State of a message.
type State string

const (
	StatePending   State = "pending"
	StateDelivered State = "delivered"
	StateDead      State = "dead"
)

// Message is one eDispensation effect waiting for (or past) delivery.
type Message struct {
	// Key is the idempotency key: the eDispensation document id (and item
	// number when a document dispenses several items); for a cancel,
	// "cancel:" + Target.
	Key  string `json:"key"`
	Kind Kind   `json:"kind"`
	// Target is, for a cancel, the key of the dispensation it reverses.
	Target         string `json:"target,omitempty"`
	PrescriptionID string `json:"prescriptionId"`
	Matricule      string `json:"matricule"`
	Country        string `json:"country,omitempty"` // dispensing country
	// Organisation is the dispensing organisation as the HCP assertion
	// names it (its id, else its name); empty when the assertion has none.
	Organisation string `json:"organisation,omitempty"`
	// ContentHash is the hash of the dispensed content (Binding).
	ContentHash string    `json:"contentHash,omitempty"`
	Resource    []byte    `json:"resource,omitempty"` // FHIR MedicationDispense JSON
	Accepted    time.Time `json:"accepted"`
	State       State     `json:"state"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
	Delivered   time.Time `json:"delivered,omitempty"`
	// RequestID and MessageID identify the XDR request that was accepted
	// (internal/reqlog; its wsa:MessageID): the delivery's span and logs
	// carry them, so the asynchronous delivery leads back to the request.
	RequestID string `json:"requestId,omitempty"`
	MessageID string `json:"messageId,omitempty"`
}

// ErrNotFound: no message has that key.
var ErrNotFound = errors.New("outbox: no such message")

// Queue is what the dispatcher needs.
type Queue interface {
	// Due returns pending messages whose NextAttempt is not after now, in
	// acceptance order.
	Due(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// Update stores a message's new state (delivered, retry later, dead).
	Update(ctx context.Context, m Message) error
}

// Admin is what operators use.
type Admin interface {
	List(ctx context.Context, state State) ([]Message, error)
	// Replay puts a dead message back to pending.
	Replay(ctx context.Context, key string) error
	// Resolve closes a dead message without delivering it (StateResolved),
	// releasing its reservation; note says why.
	Resolve(ctx context.Context, key, note string) error
}

// Store is an outbox with all three faces.
type Store interface {
	Ledger
	Queue
	Admin
}
