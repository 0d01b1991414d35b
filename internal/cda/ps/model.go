package ps

import (
	"time"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Coding is a code as the national document carries it (codeSystem as OID).
type Coding = terminology.Coding

// Code systems the readers recognise, as CDA OIDs.
const (
	OIDSNOMED     = "2.16.840.1.113883.6.96"
	OIDLOINC      = "2.16.840.1.113883.6.1"
	OIDATC        = "2.16.840.1.113883.6.73"
	OIDICD10      = "1.3.6.1.4.1.12559.11.10.1.3.1.44.2"
	OIDEDQM       = "0.4.0.127.0.16.1.1.2.1"
	OIDUCUM       = "2.16.840.1.113883.6.8"
	OIDLUProduct  = "1.3.182.4.13"
	OIDAbsent     = "2.16.840.1.113883.5.1150.1" // IPS absent and unknown data
	OIDActCode    = "2.16.840.1.113883.5.4"
	OIDCriticalty = "2.16.840.1.113883.4.642.4.130"
	OIDAllergyVer = "2.16.840.1.113883.4.642.4.1371"
	OIDAllergyCli = "2.16.840.1.113883.4.642.4.1373"
)

// Absent-or-unknown codes (IPS "absent and unknown data", eHDSI
// eHDSIAbsentOrUnknown* value sets) a reader sets when a section is known
// empty or its content is unknown.
const (
	NoKnownAllergies   = "no-known-allergies"
	NoAllergyInfo      = "no-allergy-info"
	NoKnownMedications = "no-known-medications"
	NoMedicationInfo   = "no-medication-info"
	NoKnownProblems    = "no-known-problems"
	NoProblemInfo      = "no-problem-info"
	NoKnownProcedures  = "no-known-procedures"
	NoProcedureInfo    = "no-procedure-info"
	NoKnownDevices     = "no-known-devices"
	NoDeviceInfo       = "no-device-info"
)

// Summary is the internal Patient Summary model both national readers fill
// and Build writes. Dates are FHIR-style strings ("2017", "2017-05",
// "2017-05-06") so that partial dates survive; entries keep their national
// coding.
type Summary struct {
	// Source identifies the national document (its id as an II), written as
	// relatedDocument/parentDocument.
	Source cda.II `json:"source"`
	// Format names the national input ("fhir" or "lu-cda").
	Format string `json:"format"`
	// Created is when the national document was last updated.
	Created  time.Time   `json:"created"`
	Language string      `json:"language,omitempty"` // of the national text, e.g. fr-LU
	Patient  cda.Patient `json:"patient"`
	Author   cda.Author  `json:"author"`
	// Custodian is the organisation keeping the national record.
	Custodian cda.Organization `json:"custodian"`
	// Contact is the preferred contact (next of kin or professional), optional.
	Contact *Contact `json:"contact,omitempty"`

	Allergies       []Allergy      `json:"allergies,omitempty"`
	AllergiesAbsent string         `json:"allergiesAbsent,omitempty"` // NoKnownAllergies / NoAllergyInfo when empty
	Medications     []Medicine     `json:"medications,omitempty"`
	MedicationsAbs  string         `json:"medicationsAbsent,omitempty"`
	Problems        []Problem      `json:"problems,omitempty"`
	ProblemsAbsent  string         `json:"problemsAbsent,omitempty"`
	Procedures      []Procedure    `json:"procedures,omitempty"`
	ProceduresAbs   string         `json:"proceduresAbsent,omitempty"`
	Devices         []Device       `json:"devices,omitempty"`
	DevicesAbsent   string         `json:"devicesAbsent,omitempty"`
	Immunizations   []Immunization `json:"immunizations,omitempty"`
	PastIllnesses   []Problem      `json:"pastIllnesses,omitempty"`
	Functional      []Observation  `json:"functional,omitempty"`
	Social          []Observation  `json:"social,omitempty"`
	Pregnancy       *Pregnancy     `json:"pregnancy,omitempty"`
	VitalSigns      []Observation  `json:"vitalSigns,omitempty"`
	Results         []Observation  `json:"results,omitempty"`
	CarePlan        []TextItem     `json:"carePlan,omitempty"`
	Directives      []TextItem     `json:"advanceDirectives,omitempty"`
}

// Contact is a contact person or preferred professional (header participant).
type Contact struct {
	Relationship Coding        `json:"relationship"` // HL7 RoleCode (e.g. SPS, MTH), optional
	Name         cda.Name      `json:"name"`
	Telecoms     []cda.Telecom `json:"telecoms,omitempty"`
	Addr         cda.Address   `json:"addr"`
}

// Allergy is one allergy or intolerance.
type Allergy struct {
	// Type is the kind of reaction (SNOMED: 419199007 allergy to substance,
	// 416098002 drug allergy, 414285001 food allergy, 235719002 food intolerance …).
	Type        Coding `json:"type"`
	Agent       Coding `json:"agent"`                 // ATC for medicines, SNOMED otherwise
	Reaction    Coding `json:"reaction,omitempty"`    // SNOMED manifestation
	Severity    Coding `json:"severity,omitempty"`    // SNOMED 255604002 mild, 6736007 moderate, 24484000 severe
	Criticality string `json:"criticality,omitempty"` // low | high | unable-to-assess
	Status      string `json:"status,omitempty"`      // active | inactive | resolved
	Certainty   string `json:"certainty,omitempty"`   // unconfirmed | confirmed | refuted
	Onset       string `json:"onset,omitempty"`
	End         string `json:"end,omitempty"`
	Text        string `json:"text,omitempty"` // free text as the national record writes it
}

// Ingredient is an active ingredient and its strength.
type Ingredient struct {
	Substance     Coding  `json:"substance"` // ATC
	StrengthValue float64 `json:"strengthValue,omitempty"`
	StrengthUnit  string  `json:"strengthUnit,omitempty"` // UCUM
}

// Medicine is one medication the patient takes (medication summary).
type Medicine struct {
	Product     Coding       `json:"product"` // LU product code 1.3.182.4.13, or ATC
	Name        string       `json:"name,omitempty"`
	Ingredients []Ingredient `json:"ingredients,omitempty"`
	DoseForm    Coding       `json:"doseForm,omitempty"` // EDQM
	Route       Coding       `json:"route,omitempty"`    // EDQM
	DoseValue   float64      `json:"doseValue,omitempty"`
	DoseUnit    string       `json:"doseUnit,omitempty"` // UCUM, "1" for units of presentation
	// PeriodValue/PeriodUnit: one dose every PeriodValue PeriodUnit (UCUM "h", "d", "wk").
	PeriodValue float64 `json:"periodValue,omitempty"`
	PeriodUnit  string  `json:"periodUnit,omitempty"`
	Start       string  `json:"start,omitempty"`
	End         string  `json:"end,omitempty"`
	Reason      Coding  `json:"reason,omitempty"` // ICD-10
	Text        string  `json:"text,omitempty"`
}

// Problem is an active problem or a past illness.
type Problem struct {
	Code   Coding `json:"code"` // ICD-10 (eHDSI OID) or SNOMED
	Onset  string `json:"onset,omitempty"`
	End    string `json:"end,omitempty"`
	Status string `json:"status,omitempty"` // active | inactive | resolved
	Text   string `json:"text,omitempty"`
}

// Procedure is a surgical or other procedure.
type Procedure struct {
	Code Coding `json:"code"` // SNOMED
	Date string `json:"date,omitempty"`
	Text string `json:"text,omitempty"`
}

// Device is a medical device or implant.
type Device struct {
	Code  Coding `json:"code"` // SNOMED
	ID    string `json:"id,omitempty"`
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	Text  string `json:"text,omitempty"`
}

// Immunization is one vaccination.
type Immunization struct {
	Vaccine Coding `json:"vaccine"` // SNOMED or ATC J07…
	Date    string `json:"date,omitempty"`
	Dose    int    `json:"dose,omitempty"`
	Name    string `json:"name,omitempty"` // brand
	Text    string `json:"text,omitempty"`
}

// Observation is a coded observation: a vital sign, a result, a social
// history or functional status item. Exactly one value kind is set.
type Observation struct {
	Code       Coding  `json:"code"` // LOINC or SNOMED
	Date       string  `json:"date,omitempty"`
	End        string  `json:"end,omitempty"`
	Value      float64 `json:"value,omitempty"`
	Unit       string  `json:"unit,omitempty"` // UCUM; set when the value is a quantity
	Coded      Coding  `json:"coded,omitempty"`
	String     string  `json:"string,omitempty"`
	Interp     string  `json:"interpretation,omitempty"` // HL7 ObservationInterpretation (N, H, L)
	Text       string  `json:"text,omitempty"`
	IsQuantity bool    `json:"isQuantity,omitempty"`
}

// Pregnancy is the current pregnancy status and history.
type Pregnancy struct {
	Status        Coding `json:"status"` // SNOMED 77386006 pregnant, 60001007 not pregnant …
	Observed      string `json:"observed,omitempty"`
	ExpectedBirth string `json:"expectedBirth,omitempty"` // estimated delivery date
	// Outcomes counts previous pregnancies by outcome (SNOMED eHDSIOutcomeOfPregnancy).
	Outcomes []PregnancyOutcome `json:"outcomes,omitempty"`
}

// PregnancyOutcome is a count of previous pregnancies with one outcome.
type PregnancyOutcome struct {
	Outcome Coding `json:"outcome"`
	Count   int    `json:"count"`
}

// TextItem is a free-text item (care plan, advance directive) with an optional code and date.
type TextItem struct {
	Code Coding `json:"code,omitempty"`
	Text string `json:"text"`
	Date string `json:"date,omitempty"`
}

// Entries counts the clinical entries in s (for logs and benchmarks).
func (s *Summary) Entries() int {
	n := len(s.Allergies) + len(s.Medications) + len(s.Problems) + len(s.Procedures) + len(s.Devices) +
		len(s.Immunizations) + len(s.PastIllnesses) + len(s.Functional) + len(s.Social) + len(s.VitalSigns) +
		len(s.Results) + len(s.CarePlan) + len(s.Directives)
	if s.Pregnancy != nil {
		n++
	}
	return n
}
