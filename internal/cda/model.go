package cda

import (
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/terminology"
)

// II is an HL7 instance identifier.
type II struct {
	Root      string `json:"root"`
	Extension string `json:"extension,omitempty"`
}

// Name is a person's name.
type Name struct {
	Prefix []string `json:"prefix,omitempty"`
	Given  []string `json:"given,omitempty"`
	Family string   `json:"family,omitempty"`
}

// Address is a postal address. Country is ISO 3166-1 alpha-2.
type Address struct {
	Use        string   `json:"use,omitempty"` // HL7 PostalAddressUse (H, WP, PST); optional
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	State      string   `json:"state,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// IsZero reports whether the address holds nothing.
func (a Address) IsZero() bool {
	return len(a.Lines) == 0 && a.City == "" && a.PostalCode == "" && a.State == "" && a.Country == ""
}

// Telecom is a phone number, e-mail address or URL with its scheme
// ("tel:+352…", "mailto:…") and an optional HL7 use (H, HP, WP, MC).
type Telecom struct {
	Use   string `json:"use,omitempty"`
	Value string `json:"value"`
}

// Organization is a represented, custodian or manufacturer organisation.
type Organization struct {
	IDs      []II      `json:"ids,omitempty"`
	Name     string    `json:"name"`
	Telecoms []Telecom `json:"telecoms,omitempty"`
	Addr     Address   `json:"addr"`
}

// Patient is the document's subject (recordTarget/patientRole).
type Patient struct {
	IDs      []II      `json:"ids"`
	Name     Name      `json:"name"`
	Gender   string    `json:"gender,omitempty"`    // FHIR: male | female | other | unknown
	Birth    string    `json:"birthDate,omitempty"` // FHIR date: YYYY, YYYY-MM or YYYY-MM-DD
	Addr     Address   `json:"addr"`
	Telecoms []Telecom `json:"telecoms,omitempty"`
	// Language is the patient's preferred language (BCP 47), optional.
	Language string `json:"language,omitempty"`
}

// Professional is a health professional (author, legal authenticator,
// performer) with the organisation they act for.
type Professional struct {
	IDs          []II         `json:"ids,omitempty"`
	Name         Name         `json:"name"`
	Addr         Address      `json:"addr"`
	Telecoms     []Telecom    `json:"telecoms,omitempty"`
	Organization Organization `json:"organization"`
}

// Author is a document author: a professional, their role (ISCO-08 coded,
// transcoded through eHDSIHealthcareProfessionalRole) and the authoring time.
type Author struct {
	Professional
	Function terminology.Coding
	Time     time.Time
}

// ServiceEvent is documentationOf/serviceEvent.
type ServiceEvent struct {
	ClassCode string              // default "PCPR"
	Code      *terminology.Coding // optional, written as is
	Low, High time.Time           // effectiveTime; zero values are written as nullFlavor UNK
}

// Header is everything in a pivot CDA document before its body.
type Header struct {
	// Doc selects the eHDSI usage of the header's coded elements.
	Doc terminology.DocType
	// Realm is the optional realmCode (e.g. "LU").
	Realm string
	// TemplateIDs are the document templateIds, in order (e.g. ehdsi.TemplateEP).
	TemplateIDs []string
	ID          II
	// Code is the LOINC document code (transcoded through eHDSIDocumentCode).
	Code          terminology.Coding
	Title         string
	EffectiveTime time.Time
	// Confidentiality is an HL7 Confidentiality code; "" means N (normal).
	Confidentiality string
	// Language is the document's language (BCP 47, e.g. "fr-LU"); "" means en-GB.
	Language string
	SetID    II // zero: ID is used
	Version  int
	Patient  Patient
	Authors  []Author
	// Custodian is the organisation keeping the document (luxncp's NCP organisation).
	Custodian          Organization
	LegalAuthenticator Professional
	LegalAuthTime      time.Time
	// Participants are extra header participant elements, written after
	// legalAuthenticator (e.g. the PS contact persons); built by the caller.
	Participants []*etree.Element
	// InFulfillmentOf are order ids (eD: the prescription).
	InFulfillmentOf []II
	ServiceEvent    *ServiceEvent
	// ParentDocument, when set, is written as relatedDocument[@typeCode=XFRM]:
	// the national document this pivot document was transformed from.
	ParentDocument *II
}
