package xca

import (
	"context"
	"time"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Level of a pivot document.
type Level string

const (
	L3 Level = "L3" // structured pivot CDA
	L1 Level = "L1" // PDF embedded in a CDA nonXMLBody
)

// Code is a coded XDS metadata value.
type Code = dialect.Coded

// Entry is one XDS DocumentEntry offered in a query response.
type Entry struct {
	UniqueID           string
	RepositoryUniqueID string
	HomeCommunityID    string // OID, without urn:oid:
	Patient            wssec.PatientID
	ClassCode          string // LOINC
	Level              Level
	Title              string // Name
	Description        string // e.g. the product of a prescription
	Created            time.Time
	Author             string // authorPerson
	AuthorInstitution  string
	Language           string // fr-LU
	Confidentiality    string // N
	Country            string // country of the document (LU)
	MimeType           string // text/xml
	Size               int
	Hash               string // SHA-1 hex
	// TransformOf is the UniqueID of the L3 entry this L1 entry renders
	// (written as an XFRM association).
	TransformOf string
	// EventCodes are the eventCodeList classifications (ePrescription:
	// dialect.EPEventCodes — dispensable flag, ATC, dose form, strength,
	// substitution).
	EventCodes []Code
}

// Document is a retrieved document.
type Document struct {
	UniqueID           string
	RepositoryUniqueID string
	HomeCommunityID    string
	MimeType           string
	Data               []byte
	ClassCode          string
}

// Query is a verified FindDocuments query.
type Query struct {
	Patient    wssec.PatientID
	ClassCodes []string
	Caller     *wssec.Caller
	Country    string
	Now        time.Time
}

// Listing is what a provider answers to a query.
type Listing struct {
	Entries []Entry
	// Notes are application-level warnings or errors sent with the entries
	// (e.g. a prescription that exists but was cancelled, and why). An
	// error-severity note with no entries makes the response a Failure.
	Notes []*ehdsi.Fault
}

// RetrieveRequest is one requested document of a verified retrieve.
type RetrieveRequest struct {
	UniqueID           string
	RepositoryUniqueID string
	HomeCommunityID    string
	// Patient is the TRC assertion's patient: the document must be theirs.
	Patient wssec.PatientID
	Caller  *wssec.Caller
	Country string
	Now     time.Time
}

// Provider knows one community's documents.
type Provider interface {
	// List finds the documents of q. Failures the partner must see (no
	// consent, registry down, …) are *ehdsi.Fault of KindApplication.
	List(ctx context.Context, q Query) (Listing, error)
	// Retrieve returns one document. A document that does not exist or
	// does not belong to r.Patient is ERROR_GENERIC_DOCUMENT_MISSING.
	Retrieve(ctx context.Context, r RetrieveRequest) (Document, error)
	// ClassOf tells the class of a document from its unique id without
	// touching the national system ("" when it is not one of ours): the
	// permission policy is evaluated on it before Retrieve runs.
	ClassOf(uniqueID string) string
}

// ClassOfUniqueID is the part of Provider that tells a document's class.
type ClassOfUniqueID interface {
	ClassOf(uniqueID string) string
}
