package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/ehdsi"

	"github.com/luxncp/luxncp/internal/soap"
)

// Record is what a Sink stores: the event (kept for the patient access
// log) and its audit message.
type Record struct {
	ID      string `json:"id"`      // unique, urn:uuid:…
	Event   Event  `json:"event"`   // the audited event
	Message string `json:"message"` // the eHDSI AuditMessage XML
	// Gap: set on the record that restarts a local chain after an operator
	// quarantined its damaged tail (Quarantine); no Message then.
	Gap *Gap `json:"gap,omitempty"`
}

// MarshalRecord is the JSON form of r that sinks store: one line, the XML
// message kept readable (no HTML escaping).
func MarshalRecord(r Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Sink stores records durably: when Write returns nil the record survives a
// crash. Implementations are safe for concurrent use.
type Sink interface {
	Write(ctx context.Context, r Record) error
}

// Tee writes every record to each sink in turn and fails when any fails
// (the record may then be in some of them: audit sinks tolerate duplicates
// by record id).
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) Write(ctx context.Context, r Record) error {
	var errs []error
	for _, s := range t {
		if err := s.Write(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DefaultAuditSourceID is luxncp's audit enterprise site id (OpenNCP uses
// the country code and a node number).
const DefaultAuditSourceID = "LU-1"

// Recorder turns events into records and writes them: the one call a
// transaction handler makes before it answers.
type Recorder struct {
	Sink Sink
	// Self is luxncp's own NCP identity: Provider on SideA, Consumer on SideB.
	Self NCP
	// AuditSourceID defaults to DefaultAuditSourceID.
	AuditSourceID string
	// Now defaults to the system clock.
	Now func() time.Time
	// NewID makes record ids; defaults to a random urn:uuid.
	NewID func() string
	// Resolve maps a legacy matricule to the patient's canonical one
	// (Event.Patient); nil keeps the identifier as sent, canonicalised.
	Resolve Resolver
	// Timeout bounds one record's resolution and write (default
	// DefaultWriteTimeout). It does not depend on the caller's context: a
	// caller that hangs up never cancels its audit record.
	Timeout time.Duration
}

// DefaultWriteTimeout bounds an audit write whose caller set no Timeout.
const DefaultWriteTimeout = 10 * time.Second

// Detach returns a context that keeps ctx's values (request id, message
// id) but not its cancellation or deadline, with a deadline of its own:
// for the writes that must happen even when the caller has hung up.
func Detach(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = DefaultWriteTimeout
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// Record fills the defaults into e, builds its audit message and writes it
// to the sink. An error means the record is not durable and the transaction
// must not answer as if it were audited.
func (r *Recorder) Record(ctx context.Context, e Event) error {
	ctx, cancel := Detach(ctx, r.Timeout)
	defer cancel()
	canonicalise(ctx, &e, r.Resolve)
	rec, err := r.Prepare(e)
	if err != nil {
		return err
	}
	if err := r.Sink.Write(ctx, rec); err != nil {
		return fmt.Errorf("audit %s: %w", e.Type, err)
	}
	return nil
}

// Prepare is Record without the write: defaults, message, id. It does not
// resolve legacy identifiers (Record does).
func (r *Recorder) Prepare(e Event) (Record, error) {
	canonicalise(context.Background(), &e, nil)
	if e.Time.IsZero() {
		now := clock.Or(r.Now)
		e.Time = now()
	}
	e.Time = e.Time.UTC()
	if e.AuditSourceID == "" {
		e.AuditSourceID = r.AuditSourceID
		if e.AuditSourceID == "" {
			e.AuditSourceID = DefaultAuditSourceID
		}
	}
	if e.Side == SideA && e.Provider == (NCP{}) {
		e.Provider = r.Self
	}
	if e.Side == SideB && e.Consumer == (NCP{}) {
		e.Consumer = r.Self
	}
	msg, err := messageText(e)
	if err != nil {
		return Record{}, fmt.Errorf("audit %s: %w", e.Type, err)
	}
	id := ""
	if r.NewID != nil {
		id = r.NewID()
	} else {
		id = NewUUID()
	}
	return Record{ID: id, Event: e, Message: msg}, nil
}

// NewUUID returns a random (version 4) urn:uuid.
func NewUUID() string { return soap.NewMessageID() }

// SetOutcome sets e's outcome, error code and public error text from a
// transaction's error: nil is success; an eHDSI warning is success with its
// code; an application error carried in a normal response (no match, no
// document) is a minor failure; a SOAP fault (refused or failed request) is
// a serious failure; any other error is a serious ERROR_GENERIC. The
// private cause never enters the audit message.
func (e *Event) SetOutcome(err error) {
	if err == nil {
		e.Outcome, e.ErrorCode, e.ErrorText = OutcomeSuccess, "", ""
		return
	}
	f := ehdsi.AsFault(err, ehdsi.ErrGeneric)
	e.ErrorCode, e.ErrorText = string(f.Code), f.Message()
	switch {
	case f.Severity() == ehdsi.SeverityWarning:
		e.Outcome = OutcomeSuccess
	case f.Kind == ehdsi.KindApplication:
		e.Outcome = OutcomeMinorFailure
	default:
		e.Outcome = OutcomeSeriousFailure
	}
}

// Dir is the local chain's directory under a state dir: <stateDir>/audit.
func Dir(stateDir string) string { return filepath.Join(stateDir, "audit") }
