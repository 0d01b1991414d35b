// Package fhirr4 holds the few HL7 FHIR R4 (4.0.1) resource shapes luxncp's
// national edge reads and writes: Bundle, Patient, Consent,
// DocumentReference, MedicationDispense and OperationOutcome, as plain Go
// structs for encoding/json (https://hl7.org/fhir/R4/). Fields not listed are
// ignored on read; callers that must keep them hold the raw JSON.
//
// Field order follows the FHIR JSON order of each resource, so marshalled
// output is deterministic and readable.
package fhirr4

import "encoding/json"

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// HasCode reports whether one coding has system and code.
func (c *CodeableConcept) HasCode(system, code string) bool {
	if c == nil {
		return false
	}
	for _, cd := range c.Coding {
		if cd.System == system && cd.Code == code {
			return true
		}
	}
	return false
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	Use    string `json:"use,omitempty"`
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Meta is a FHIR Meta.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
}

// HumanName is a FHIR HumanName.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// Address is a FHIR Address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// ContactPoint is a FHIR ContactPoint.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Patient is a FHIR Patient.
type Patient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Active       *bool          `json:"active,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Address      []Address      `json:"address,omitempty"`
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// ConsentProvision is the root provision of a Consent.
type ConsentProvision struct {
	Type   string            `json:"type,omitempty"` // permit | deny
	Period *Period           `json:"period,omitempty"`
	Action []CodeableConcept `json:"action,omitempty"`
}

// Consent is a FHIR Consent.
type Consent struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Status       string            `json:"status"` // draft | proposed | active | rejected | inactive | entered-in-error
	Scope        CodeableConcept   `json:"scope"`
	Category     []CodeableConcept `json:"category"`
	Patient      *Reference        `json:"patient,omitempty"`
	DateTime     string            `json:"dateTime,omitempty"`
	PolicyRule   *CodeableConcept  `json:"policyRule,omitempty"`
	Provision    *ConsentProvision `json:"provision,omitempty"`
}

// Attachment is a FHIR Attachment.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	URL         string `json:"url,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// DocumentReferenceContent is one DocumentReference.content.
type DocumentReferenceContent struct {
	Attachment Attachment `json:"attachment"`
	Format     *Coding    `json:"format,omitempty"`
}

// DocumentReference is a FHIR DocumentReference.
type DocumentReference struct {
	ResourceType     string                     `json:"resourceType"`
	ID               string                     `json:"id,omitempty"`
	MasterIdentifier *Identifier                `json:"masterIdentifier,omitempty"`
	Status           string                     `json:"status"`
	Type             *CodeableConcept           `json:"type,omitempty"`
	Category         []CodeableConcept          `json:"category,omitempty"`
	Subject          *Reference                 `json:"subject,omitempty"`
	Date             string                     `json:"date,omitempty"`
	Author           []Reference                `json:"author,omitempty"`
	Description      string                     `json:"description,omitempty"`
	Content          []DocumentReferenceContent `json:"content"`
}

// BundleLink is a Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleSearch is Bundle.entry.search.
type BundleSearch struct {
	Mode string `json:"mode,omitempty"`
}

// BundleResponse is Bundle.entry.response.
type BundleResponse struct {
	Status   string `json:"status"`
	Location string `json:"location,omitempty"`
}

// BundleEntry is one Bundle.entry; the resource stays raw JSON.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// Bundle is a FHIR Bundle.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Identifier   *Identifier   `json:"identifier,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// OperationOutcomeIssue is one OperationOutcome.issue.
type OperationOutcomeIssue struct {
	Severity    string           `json:"severity"` // fatal | error | warning | information
	Code        string           `json:"code"`     // FHIR IssueType: not-found, conflict, invalid, transient, …
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
}

// OperationOutcome is a FHIR OperationOutcome.
type OperationOutcome struct {
	ResourceType string                  `json:"resourceType"`
	Issue        []OperationOutcomeIssue `json:"issue"`
}

// Quantity is a FHIR Quantity.
type Quantity struct {
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
}

// MedicationDispense is the part of a FHIR MedicationDispense the national
// edge reads; the full resource travels as raw JSON.
type MedicationDispense struct {
	ResourceType              string           `json:"resourceType"`
	ID                        string           `json:"id,omitempty"`
	Meta                      *Meta            `json:"meta,omitempty"`
	Identifier                []Identifier     `json:"identifier,omitempty"`
	Status                    string           `json:"status"`
	Subject                   *Reference       `json:"subject,omitempty"`
	AuthorizingPrescription   []Reference      `json:"authorizingPrescription,omitempty"`
	Quantity                  *Quantity        `json:"quantity,omitempty"`
	WhenHandedOver            string           `json:"whenHandedOver,omitempty"`
	MedicationCodeableConcept *CodeableConcept `json:"medicationCodeableConcept,omitempty"`
}

// ResourceHeader reads only resourceType and id.
type ResourceHeader struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
}
