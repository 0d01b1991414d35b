// Package national is luxncp's edge towards Luxembourg's national systems.
//
// The production implementation (Client) speaks FHIR R4 REST to the national
// shared record, the shape Luxembourg's next-generation record will have under
// the EHDS: Patient search by identifier (urn:oid:1.3.182.4.4|<matricule>) and
// by demographics, Consent, DocumentReference search by type (LOINC class
// code), Bundle/Binary read, and MedicationDispense create/cancel. The demo
// backend (package national/demo) serves synthetic fixtures through the same
// REST API, so the gateway never knows which one it talks to.
package national

import (
	"context"
	"errors"
	"time"
)

// SystemMatricule is the FHIR identifier system of the Luxembourg national
// identification number.
const SystemMatricule = "urn:oid:1.3.182.4.4"

// Errors a Source returns; callers branch on them with errors.Is.
var (
	// ErrUnavailable: the national system did not answer in time or failed (5xx, network).
	ErrUnavailable = errors.New("national system unavailable")
	// ErrNotFound: the requested resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with the national state (e.g. the
	// prescription is no longer dispensable).
	ErrConflict = errors.New("conflict with national state")
)

// Address of a patient.
type Address struct {
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"` // ISO 3166-1 alpha-2
}

// Patient as luxncp needs it for identification.
type Patient struct {
	// Matricule is the 13-digit national identification number. For the
	// few patients the national record knows only by their legacy id it is
	// that 11-digit id (then Matricule == LegacyMatricule).
	Matricule string `json:"matricule"`
	// LegacyMatricule is the pre-2014 11-digit form, when known.
	LegacyMatricule string   `json:"legacyMatricule,omitempty"`
	Given           []string `json:"given"`
	Family          string   `json:"family"`
	BirthDate       string   `json:"birthDate"` // YYYY-MM-DD (month/day may be unknown: YYYY or YYYY-MM)
	Gender          string   `json:"gender"`    // FHIR: male | female | other | unknown
	Address         Address  `json:"address"`
	Phone           string   `json:"phone,omitempty"`
	Email           string   `json:"email,omitempty"`
}

// PatientQuery is a search by identifier and/or demographics. At least one
// of Matricule or (Family and BirthDate) is set.
type PatientQuery struct {
	Matricule string // 11 or 13 digits; the source matches either form
	Given     string
	Family    string
	BirthDate string // YYYY-MM-DD
	Gender    string
}

// Consent is the patient's cross-border sharing decision.
type Consent struct {
	CrossBorder bool      // true: the patient allows sharing through MyHealth@EU
	Updated     time.Time // when the decision was recorded
}

// DocumentRef describes one national document (a DocumentReference).
type DocumentRef struct {
	ID          string    `json:"id"`        // stable national id
	Matricule   string    `json:"matricule"` // the patient
	ClassCode   string    `json:"classCode"` // LOINC: 60591-5, 57833-6, 11502-2, 18748-4, 34105-7
	Title       string    `json:"title"`
	Created     time.Time `json:"created"`
	ContentType string    `json:"contentType"` // application/fhir+json, application/xml (LU CDA), application/pdf
	// URL is where the content is read from: relative to the FHIR base
	// ("Bundle/ep-123", "Binary/lab-4") or absolute.
	URL string `json:"url"`
	// Status is the DocumentReference status (current, superseded, entered-in-error).
	Status string `json:"status"`
	// Author is the display name of the author or organisation, when known.
	Author string `json:"author,omitempty"`
}

// Dispense is one dispensation recorded at the national side.
type Dispense struct {
	// Key is the idempotency key: the same key twice has one effect.
	Key string `json:"key"`
	// PrescriptionID is the national prescription (MedicationRequest) id.
	PrescriptionID string `json:"prescriptionId"`
	Matricule      string `json:"matricule"`
	// Resource is the FHIR MedicationDispense JSON.
	Resource []byte `json:"resource"`
}

// Patients finds patients and their consent.
type Patients interface {
	FindPatients(ctx context.Context, q PatientQuery) ([]Patient, error)
	Consent(ctx context.Context, matricule string) (Consent, error)
}

// Documents lists and reads a patient's documents.
type Documents interface {
	ListDocuments(ctx context.Context, matricule, classCode string) ([]DocumentRef, error)
	// Fetch reads a document's content; contentType tells how to read it.
	Fetch(ctx context.Context, ref DocumentRef) (content []byte, contentType string, err error)
}

// Dispensations records and cancels dispensations, idempotently by key.
type Dispensations interface {
	RecordDispense(ctx context.Context, d Dispense) error
	// CancelDispense reverses the dispensation recorded under key; cancelling
	// twice has one effect. ErrNotFound when no dispensation has that key.
	CancelDispense(ctx context.Context, key string) error
}

// Source is everything luxncp reads from and writes to the national side.
type Source interface {
	Patients
	Documents
	Dispensations
}
