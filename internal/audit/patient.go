package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/matricule"
)

// PatientKey is the canonical form of one patient identifier as sent: the
// validated digits when it parses as a matricule (13-digit or legacy
// 11-digit; spaces, dots, dashes, slashes and tabs removed), else the
// identifier with those separators removed. It is the key of the
// per-patient index.
func PatientKey(id string) string {
	if m, err := matricule.Parse(id); err == nil {
		return m.Digits
	}
	return matricule.Normalize(id)
}

// Resolver maps a valid matricule (either form) to every national
// identifier of the patient, the canonical one first: the 13-digit
// matricule, or the legacy 11-digit one for a patient who has no other.
// A patient the national register does not know is an error wrapping
// ErrUnknownPatient.
type Resolver func(ctx context.Context, digits string) ([]string, error)

// ErrUnknownPatient: the national register does not know the identifier.
var ErrUnknownPatient = errors.New("patient unknown to the national register")

// sentMatricule returns the first Luxembourg identifier of e as sent.
func sentMatricule(e *Event) (string, bool) {
	for _, p := range e.Patients {
		if p.Root == ehdsi.OIDMatricule && p.Extension != "" {
			return p.Extension, true
		}
	}
	return "", false
}

// canonicalise sets e.Patient to the patient's canonical national
// identifier and puts it first in e.Patients, keeping the identifier as
// sent beside it. A legacy id is mapped to the 13-digit one by resolve; when
// it cannot be (no resolver, unknown, register down) the legacy digits
// stand, and the access log finds them by asking the register at read time.
func canonicalise(ctx context.Context, e *Event, resolve Resolver) {
	if e.Patient != "" {
		return
	}
	sent, ok := sentMatricule(e)
	if !ok {
		return
	}
	key := PatientKey(sent)
	if m, err := matricule.Parse(sent); err == nil && m.Kind == matricule.Legacy && resolve != nil {
		if ids, err := resolve(ctx, m.Digits); err == nil && len(ids) > 0 {
			key = ids[0]
		}
	}
	if key == "" {
		return
	}
	e.Patient = key
	if key != sent {
		e.Patients = append([]PatientID{{Root: ehdsi.OIDMatricule, Extension: key}}, e.Patients...)
	}
}

// PatientKeys are the index keys of e: its canonical patient and the
// canonical form of every Luxembourg identifier it carries.
func (e *Event) PatientKeys() []string {
	var keys []string
	if e.Patient != "" {
		keys = append(keys, e.Patient)
	}
	for _, p := range e.Patients {
		if p.Root != ehdsi.OIDMatricule {
			continue
		}
		if k := PatientKey(p.Extension); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// QueryKeys are the index keys to read for a patient named in any form:
// the canonical digits and, with a resolver, every other national
// identifier of the same patient. A malformed identifier wraps
// ErrBadMatricule; a patient unknown to the register is not an error (the
// log may still hold refused requests that named the identifier).
func QueryKeys(ctx context.Context, id string, resolve Resolver) ([]string, error) {
	m, err := matricule.Parse(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMatricule, err)
	}
	keys := []string{m.Digits}
	if resolve == nil {
		return keys, nil
	}
	ids, err := resolve(ctx, m.Digits)
	if err != nil && !errors.Is(err, ErrUnknownPatient) {
		return nil, fmt.Errorf("audit: resolve patient: %w", err)
	}
	for _, k := range ids {
		if k = PatientKey(k); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}
