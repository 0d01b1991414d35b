package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// luxncp's own operator events, not eHDSI ones: an operator acted on an
// eDispensation in the outbox (luxncp outbox replay / resolve). They are
// recorded under the dispensation's patient, so the patient's access log
// shows them, with the operator as the professional.
const (
	EventOutboxReplay  EventType = "LU-OR" // a dead dispensation put back in the delivery queue
	EventOutboxResolve EventType = "LU-OS" // a dead dispensation closed without delivery
)

// operatorDir is the operator log under a local chain directory.
const operatorDir = "operator"

// OperatorDir is the operator log of the local chain in dir:
// <dir>/operator, a chain of its own in the same format (append-only,
// SHA-256 hash-chained, fsync'd, indexed per patient) with its own lock,
// so that a CLI procedure can be recorded while the gateway holds the
// main chain's lock. Verify checks it with the main chain; DirReader and
// WithOperatorLog read it into the patient access log.
func OperatorDir(dir string) string { return filepath.Join(dir, operatorDir) }

// RecordOperator appends e to the operator log of the local chain in dir
// and returns once it is on disk. Two operator commands at the same moment:
// the second fails with ErrLocked (run it again).
func RecordOperator(ctx context.Context, dir string, e Event) (Record, error) {
	s, err := OpenFile(OperatorDir(dir), FileOptions{RecoverTorn: true})
	if err != nil {
		return Record{}, fmt.Errorf("operator log: %w", err)
	}
	defer s.Close()
	return WriteOperator(ctx, s, e)
}

// WriteOperator records the operator event e in sink (the operator log, or
// the S3 audit store on AWS).
func WriteOperator(ctx context.Context, sink Sink, e Event) (Record, error) {
	if e.HCP.Name == "" {
		return Record{}, errors.New("operator log: no operator named")
	}
	r := Recorder{Sink: sink}
	rec, err := r.Prepare(e)
	if err != nil {
		return Record{}, err
	}
	if err := sink.Write(ctx, rec); err != nil {
		return Record{}, fmt.Errorf("operator log: %w", err)
	}
	return rec, nil
}

// WithOperatorLog adds the operator log of the local chain in dir to r
// (the main chain's reader): the patient access log shows both. The
// operator log's entries carry no sequence number (it is not the main
// chain's); their record id names them.
func WithOperatorLog(r PatientReader, dir string) PatientReader {
	return withOperator{r, dir}
}

type withOperator struct {
	PatientReader
	dir string
}

func (w withOperator) PatientEntries(ctx context.Context, key string) ([]Entry, error) {
	ents, err := w.PatientReader.PatientEntries(ctx, key)
	if err != nil {
		return nil, err
	}
	op := OperatorDir(w.dir)
	if _, err := os.Stat(op); err != nil {
		return ents, nil
	}
	more, err := readPatient(op, key)
	if err != nil {
		return nil, fmt.Errorf("operator log: %w", err)
	}
	for _, e := range more {
		e.Seq = 0
		ents = append(ents, e)
	}
	return ents, nil
}
