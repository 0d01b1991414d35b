package countryb

import (
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Professional is what a request may say about its professional: the
// purpose of use, and optionally the authenticated professional's own
// values (they must match the token; a body naming anyone else is refused).
// Who the professional is comes from the token alone.
type Professional struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Role           string `json:"role"` // physician, gp, specialist, nurse, midwife, dentist, pharmacist
	Organisation   string `json:"organisation"`
	OrganisationID string `json:"organisationId,omitempty"`
	FacilityType   string `json:"facilityType"` // Hospital, Resident Physician, Pharmacy, Other
	Locality       string `json:"locality,omitempty"`
	Purpose        string `json:"purpose,omitempty"` // TREATMENT (default) or EMERGENCY
}

// Identifier is a national identifier with its assigning authority OID.
type Identifier struct {
	Root      string `json:"root"`
	Extension string `json:"extension"`
}

func (i Identifier) patient() wssec.PatientID {
	return wssec.PatientID{Root: i.Root, Extension: i.Extension}
}

// SearchRequest finds a patient in a country.
type SearchRequest struct {
	Professional Professional `json:"professional"`
	Identifiers  []Identifier `json:"identifiers,omitempty"`
	Given        string       `json:"given,omitempty"`
	Family       string       `json:"family,omitempty"`
	BirthDate    string       `json:"birthDate,omitempty"` // YYYY-MM-DD
	Gender       string       `json:"gender,omitempty"`    // M | F
}

// FoundPatient is a patient the country identified.
type FoundPatient struct {
	ID        Identifier `json:"id"`
	Given     string     `json:"given"`
	Family    string     `json:"family"`
	BirthDate string     `json:"birthDate,omitempty"`
	Gender    string     `json:"gender,omitempty"`
	Address   string     `json:"address,omitempty"`
}

// SearchResponse is the outcome of a search.
type SearchResponse struct {
	Country  string         `json:"country"`
	Patients []FoundPatient `json:"patients"`
}

// ListRequest lists a patient's documents.
type ListRequest struct {
	Professional Professional `json:"professional"`
	Patient      Identifier   `json:"patient"`
	// Classes: PS, eP, OrCD (default PS and eP).
	Classes []string `json:"classes,omitempty"`
}

// Document is one listed document.
type Document struct {
	ID              string `json:"id"`
	RepositoryID    string `json:"repositoryId"`
	HomeCommunityID string `json:"homeCommunityId"`
	Class           string `json:"class"` // PS, eP, OrCD
	ClassCode       string `json:"classCode"`
	Title           string `json:"title,omitempty"`
	Description     string `json:"description,omitempty"`
	Created         string `json:"created,omitempty"`
	Format          string `json:"format,omitempty"`
	PDF             bool   `json:"pdf,omitempty"`
}

// ListResponse lists documents.
type ListResponse struct {
	Country   string     `json:"country"`
	Documents []Document `json:"documents"`
	Warnings  []string   `json:"warnings,omitempty"`
}

// DocumentRef names a document to retrieve.
type DocumentRef struct {
	ID              string `json:"id"`
	RepositoryID    string `json:"repositoryId"`
	HomeCommunityID string `json:"homeCommunityId"`
	Class           string `json:"class,omitempty"` // PS, eP (for the checks)
}

// RetrieveRequest fetches a document.
type RetrieveRequest struct {
	Professional Professional `json:"professional"`
	Patient      Identifier   `json:"patient"`
	Document     DocumentRef  `json:"document"`
	// Format: original (pivot CDA as received), translated (CDA with
	// displayNames in Lang, originals kept) or html (rendered).
	Format string `json:"format"`
	Lang   string `json:"lang,omitempty"` // fr (default), de, en
}

// RetrieveResponse is the retrieve's answer when the caller sends
// Accept: application/json: the document (base64) with what the X-Luxncp-*
// headers say, and, for format translated, the translation report with the
// untranslated terms listed by code.
type RetrieveResponse struct {
	Country     string             `json:"country"`
	Format      string             `json:"format"`
	ContentType string             `json:"contentType"`
	Filename    string             `json:"filename"`
	Signed      bool               `json:"signed"`
	Attempts    int                `json:"attempts"`
	Warnings    []string           `json:"warnings,omitempty"`
	Translation *TranslationReport `json:"translation,omitempty"`
	Document    []byte             `json:"document"`
}

// TranslationReport is what translation made of a document's coded terms.
type TranslationReport struct {
	Lang       string `json:"lang"`
	Terms      int    `json:"terms"`
	Translated int    `json:"translated"`
	// Untranslated counts the terms not displayed in Lang (as the
	// X-Luxncp-Untranslated header); UntranslatedTerms lists them, each
	// distinct term once, at most render.MaxListedTerms of them
	// (UntranslatedTruncated says when some were left off).
	Untranslated          int                 `json:"untranslated"`
	UntranslatedTerms     []render.ListedTerm `json:"untranslatedTerms"`
	UntranslatedTruncated bool                `json:"untranslatedTruncated,omitempty"`
}

// DispenseItem is what the pharmacist dispensed for one prescription item.
type DispenseItem struct {
	// PrescriptionItemID is the substanceAdministration id extension of
	// the prescribed item (default: the first item).
	PrescriptionItemID string `json:"prescriptionItemId,omitempty"`
	Packages           int    `json:"packages"`
	Substituted        bool   `json:"substituted,omitempty"`
	// Product is the dispensed product name when substituted.
	Product string `json:"product,omitempty"`
	Note    string `json:"note,omitempty"`
}

// DispenseRequest submits an eDispensation for a foreign ePrescription.
type DispenseRequest struct {
	Professional Professional `json:"professional"`
	Patient      Identifier   `json:"patient"`
	Prescription DocumentRef  `json:"prescription"`
	Item         DispenseItem `json:"item"`
}

// DispenseResponse confirms a submission.
type DispenseResponse struct {
	Country        string `json:"country"`
	DispensationID string `json:"dispensationId"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
}

// DiscardRequest withdraws an eDispensation.
type DiscardRequest struct {
	Professional   Professional `json:"professional"`
	Patient        Identifier   `json:"patient"`
	DispensationID string       `json:"dispensationId"`
}
