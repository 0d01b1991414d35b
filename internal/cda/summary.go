package cda

import (
	"strings"
	"time"
)

// Reason says why a prescription (or item) cannot be dispensed abroad.
type Reason string

// Reasons, as codes for callers and audit.
const (
	ReasonNone        Reason = ""
	ReasonCancelled   Reason = "cancelled"
	ReasonCompleted   Reason = "completed"     // already fully dispensed
	ReasonStopped     Reason = "stopped"       // treatment stopped by the prescriber
	ReasonOnHold      Reason = "on-hold"       // suspended by the prescriber
	ReasonInvalid     Reason = "invalid"       // draft, entered-in-error or unknown status
	ReasonExpired     Reason = "expired"       // validity period ended
	ReasonNotYetValid Reason = "not-yet-valid" // validity period not started
	ReasonNoRepeats   Reason = "no-repeats-left"
)

// Explain gives the pharmacist-facing English text of a reason.
func (r Reason) Explain() string {
	switch r {
	case ReasonCancelled:
		return "the prescription was cancelled by the prescriber"
	case ReasonCompleted:
		return "the prescription has already been fully dispensed"
	case ReasonStopped:
		return "the treatment was stopped by the prescriber"
	case ReasonOnHold:
		return "the prescription is on hold"
	case ReasonInvalid:
		return "the prescription is not valid (draft or entered in error)"
	case ReasonExpired:
		return "the validity period of the prescription has ended"
	case ReasonNotYetValid:
		return "the validity period of the prescription has not started yet"
	case ReasonNoRepeats:
		return "all allowed dispensations (including repeats) have been made"
	}
	return ""
}

// ItemSummary is the dispensability of one prescription item.
type ItemSummary struct {
	ID          II
	Product     string
	Dispensable bool
	Reason      Reason
	// Remaining is how many dispensations are left (1 + repeats − dispensed).
	Remaining int
}

// Summary describes a prescription for the XCA document list.
type Summary struct {
	ID          II // national prescription id
	Matricule   string
	Description string // the product(s), e.g. "Prednisolone Synth 20 mg comprimés"
	Created     time.Time
	Author      string // prescriber name and organisation
	Dispensable bool   // true when at least one item is dispensable
	// Reason, when not dispensable: the reason of the first item (all items
	// share it in a one-item prescription).
	Reason Reason
	Items  []ItemSummary
}

// Why returns the public explanation for a non-dispensable prescription.
func (s Summary) Why() string { return s.Reason.Explain() }

// Summarize describes the prescription in bundle as of now. dispensed,
// optional, counts the dispensations recorded outside the Bundle per item id
// extension (e.g. by luxncp since the Bundle was read); they add to the
// MedicationDispense resources inside it.
func Summarize(bundle []byte, now time.Time, dispensed map[string]int) (Summary, error) {
	p, err := ParsePrescription(bundle)
	if err != nil {
		return Summary{}, err
	}
	return p.Summary(now, dispensed), nil
}

// Summary is Summarize on a parsed prescription.
func (p *Prescription) Summary(now time.Time, dispensed map[string]int) Summary {
	s := Summary{ID: p.ID, Matricule: p.Matricule, Author: fullName(p.Prescriber.Name)}
	if p.Prescriber.Organization.Name != "" {
		s.Author += " (" + p.Prescriber.Organization.Name + ")"
	}
	if t, err := time.Parse(time.RFC3339, p.Authored); err == nil {
		s.Created = t
	}
	var names []string
	for _, it := range p.Items {
		names = append(names, it.Product.Name)
		is := ItemSummary{ID: it.ID, Product: it.Product.Name}
		is.Remaining = 1 + it.Repeats - it.Dispensed - dispensed[it.ID.Extension]
		is.Reason = itemReason(it, is.Remaining, now)
		is.Dispensable = is.Reason == ReasonNone
		if is.Dispensable {
			s.Dispensable = true
		} else if s.Reason == ReasonNone {
			s.Reason = is.Reason
		}
		s.Items = append(s.Items, is)
	}
	if s.Dispensable {
		s.Reason = ReasonNone
	}
	s.Description = strings.Join(names, "; ")
	return s
}

func itemReason(it Item, remaining int, now time.Time) Reason {
	switch it.Status {
	case "active":
	case "cancelled":
		return ReasonCancelled
	case "completed":
		return ReasonCompleted
	case "stopped":
		return ReasonStopped
	case "on-hold":
		return ReasonOnHold
	default:
		return ReasonInvalid
	}
	if it.ValidUntil != "" {
		if end, ok := endOf(it.ValidUntil); ok && !now.Before(end) {
			return ReasonExpired
		}
	}
	if it.ValidFrom != "" {
		if start, ok := startOf(it.ValidFrom); ok && now.Before(start) {
			return ReasonNotYetValid
		}
	}
	if remaining <= 0 {
		return ReasonNoRepeats
	}
	return ReasonNone
}

// startOf and endOf read a FHIR date or dateTime as the first instant it
// covers and the first instant after it (a date covers the whole day, UTC).
func startOf(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}

func endOf(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := time.Parse("2006-01-02", s)
	return t.AddDate(0, 0, 1), err == nil
}
