package terminology

import "github.com/luxncp/luxncp/internal/ehdsi"

// This file is the contract the document transforms (internal/cda) code
// against. Keep these names and signatures stable.

// Usage of a coded element in an eHDSI document, per the eHDSI transcoding
// specification (coded_element_list_ehdsi.xml).
type Usage string

const (
	UsageRequired   Usage = "R"    // must be transcoded; failure is an error
	UsageRNFA       Usage = "RNFA" // required, nullFlavor allowed (with originalText)
	UsageOptional   Usage = "O"    // may be left out or nullFlavored
	UsageNotAllowed Usage = "NA"
)

// Coding is one code as CDA carries it: codeSystem is an OID.
type Coding struct {
	Code          string `json:"code"`
	System        string `json:"system"` // OID, as CDA @codeSystem
	SystemName    string `json:"systemName,omitempty"`
	SystemVersion string `json:"systemVersion,omitempty"`
	Display       string `json:"display,omitempty"`
}

// Transcoded is the result of mapping a national (or already MVC) code to the
// eHDSI Master Value Catalogue.
type Transcoded struct {
	// MVC is the code to put in the CDA element, with its English MVC display.
	MVC Coding
	// Original is the input code, to keep as <translation>; zero when the
	// input already was the MVC code.
	Original Coding
	// Path explains how the mapping was found, e.g. ["LU product 1996073711", "ATC H03AA01"].
	Path []string
}

// Translated is a display translated for Country B.
type Translated struct {
	Text string
	// Lang is the language actually used after the fallback chain (e.g. "de" for "de-LU").
	Lang string
	// Fallback is true when Lang is not the first choice asked for.
	Fallback bool
}

// Binding names the value set an element binds and its usage in a document type.
type Binding struct {
	Element  string // the eHDSI element (XPath as in coded_element_list)
	ValueSet string // value set OID
	Name     string // value set name, e.g. eHDSIDoseForm
	Usage    Usage
}

// DocType is an eHDSI document type for bindings.
type DocType string

const (
	DocPS   DocType = "PS"
	DocEP   DocType = "EP"
	DocED   DocType = "ED"
	DocPSL1 DocType = "PS-L1"
	DocEPL1 DocType = "EP-L1"
)

// Value set OIDs the transforms use most, so callers don't spell them.
const (
	VSActiveIngredient = "1.3.6.1.4.1.12559.11.10.1.3.1.42.24" // eHDSIActiveIngredient (ATC)
	VSDoseForm         = "1.3.6.1.4.1.12559.11.10.1.3.1.42.2"  // eHDSIDoseForm (EDQM)
	VSPackage          = "1.3.6.1.4.1.12559.11.10.1.3.1.42.3"  // eHDSIPackage (EDQM)
	VSRoute            = "1.3.6.1.4.1.12559.11.10.1.3.1.42.12" // eHDSIRouteofAdministration (EDQM)
	VSUnit             = "1.3.6.1.4.1.12559.11.10.1.3.1.42.16" // eHDSIUnit (UCUM)
	VSQuantityUnit     = "1.3.6.1.4.1.12559.11.10.1.3.1.42.56" // eHDSIQuantityUnit
	VSIllnessDisorder  = "1.3.6.1.4.1.12559.11.10.1.3.1.42.5"  // eHDSIIllnessandDisorder (ICD-10)
)

// The engine's methods (implemented in this package; signatures are the contract):
//
//	func Load() (*Catalogue, error)                  // embedded data, parsed once per call; callers keep the result
//	func (c *Catalogue) Validate(valueSet string, code Coding) bool
//	func (c *Catalogue) Transcode(valueSet string, code Coding) (Transcoded, error) // error is *Miss
//	func (c *Catalogue) Translate(code Coding, langs ...string) (Translated, bool)  // e.g. Translate(c, "de-LU") tries de-LU, de, en
//	func (c *Catalogue) Binding(doc DocType, element string) (Binding, bool)
//	func (c *Catalogue) Display(valueSet, code string) (string, bool)              // English MVC display
//
// Miss explains why a code did not map (unknown code system, no mapping,
// code not in value set), and is what callers turn into eHDSI errors.

// The additions below extend the contract; the names above are unchanged.
//
//	func LoadFS(data, licensed fs.FS) (*Catalogue, error)   // data laid out like translations/; licensed may be nil
//	func LoadLicensedDir(dir string) (*Catalogue, error)    // embedded data + CTS exports in dir ("" = none)
//	func (c *Catalogue) Resolve(doc DocType, element string, code Coding) (Resolved, error) // the R/RNFA/O policy
//	func (c *Catalogue) Product(luCode string) (Product, bool)
//	func (c *Catalogue) Section(luTemplateID string) (Section, bool)
//	func (c *Catalogue) EntryTemplate(luTemplateID string) (string, bool)
//	func (c *Catalogue) Bindings(doc DocType) []Binding
//	func (c *Catalogue) CodeSystem(id string) (oid, name string, ok bool)
//	func (c *Catalogue) Lookup(system, code string) LookupResult            // operator view of one code
//	func (c *Catalogue) Coverage(sets ...DocumentSet) (CoverageReport, error) // over national documents
//	func (c *Catalogue) ProductCodes() []string
//	func (c *Catalogue) ValueSetOID(nameOrOID string) (oid, name string, ok bool)
//	func (c *Catalogue) Problems() []string                                   // data inconsistencies found at load
//	func Import(src, cur fs.FS, opt ImportOptions) (map[string][]byte, error) // rebuilds translations/mvc
//	func ParseCTS(name string, b []byte) ([]CTSRow, error)                    // licensed CTS export parser
//	func ExtractCodes(name string, b []byte) ([]Found, error)                // codes of a FHIR JSON / LU CDA document

// MissReason says why a code did not transcode.
type MissReason string

const (
	MissUnknownValueSet MissReason = "unknown value set"
	MissUnknownSystem   MissReason = "unknown code system"
	MissNotInValueSet   MissReason = "code not in value set"
	MissNoMapping       MissReason = "no mapping to the value set"
	MissEmptyCode       MissReason = "empty code"
	MissNotAllowed      MissReason = "element not allowed in this document"
	MissUnknownElement  MissReason = "element not in the coded element list"
)

// Miss is the error of every failed lookup: it names the value set, the
// code, and, when it comes from Resolve, the element and its usage. Codes are
// not patient data, so the message is safe to log.
type Miss struct {
	Reason       MissReason
	ValueSet     string // OID
	ValueSetName string
	Code         Coding
	Element      string // set by Resolve
	Usage        Usage  // set by Resolve
	Doc          DocType
}

func (m *Miss) Error() string {
	s := "terminology: " + string(m.Reason) + ": code " + quote(m.Code.Code)
	if m.Code.System != "" {
		s += " (system " + m.Code.System + ")"
	}
	if m.ValueSetName != "" || m.ValueSet != "" {
		s += ", value set " + m.ValueSetName
		if m.ValueSet != "" {
			s += " (" + m.ValueSet + ")"
		}
	}
	if m.Element != "" {
		s += ", element " + m.Element + " usage " + string(m.Usage) + " in " + string(m.Doc)
	}
	return s
}

func quote(s string) string { return "\"" + s + "\"" }

// Resolved is what a transform puts in a coded element after applying the
// eHDSI transcoding policy for its usage.
type Resolved struct {
	Binding Binding
	// Coded is the transcoded value when OK.
	Coded Transcoded
	OK    bool
	// NullFlavor is set (to "OTH": the value is outside the value set) when
	// an RNFA or optional element could not be transcoded; keep the
	// national code as translation and its text as originalText.
	NullFlavor string
	// OriginalText is the display of the untranscodable code.
	OriginalText string
	// Omit is true for an optional element that may simply be left out.
	Omit bool
	// Miss explains a non-OK result (also for RNFA/O, which return no error).
	Miss *Miss
}

// Quantity is a value with a UCUM unit, as CDA PQ carries it.
type Quantity struct {
	Value string // decimal, "." separator
	Unit  string // UCUM
}

// Ingredient is one active ingredient of a product.
type Ingredient struct {
	Name     string
	ATC      Coding // zero when the substance has no ATC code of its own
	Strength Quantity
}

// Product is a Luxembourg medicinal product (code system 1.3.182.4.13) with
// everything an ePrescription/eDispensation entry needs. Slices are shared:
// do not modify them.
type Product struct {
	Code        Coding // the LU code, system 1.3.182.4.13, display = name (for <translation>)
	Name        string
	ATC         Coding // eHDSIActiveIngredient; zero when the product has no ATC mapping
	DoseForm    Coding // eHDSIDoseForm (EDQM)
	Package     Coding // eHDSIPackage (EDQM)
	Route       Coding // eHDSIRouteofAdministration (EDQM)
	Strength    Quantity
	Ingredients []Ingredient
	Synthetic   bool // invented for fixtures
}

// Section maps a Luxembourg national CDA section template to the eHDSI section.
type Section struct {
	LUTemplateID string
	Code         Coding // LOINC, in eHDSISection
	TemplateID   string // eHDSI section template OID
	Name         string
}

// EHDSICode is the eHDSI error code for a miss: a required element that
// could not be transcoded is ERROR_REQUIRED_CODED_ELEMENT_NOT_TRANSCODED;
// otherwise the document type's ERROR_xx_MISSING_EXPECTED_MAPPING (PS when
// the document type is unknown).
func (m *Miss) EHDSICode() ehdsi.Code {
	if m.Usage == UsageRequired {
		return ehdsi.ErrRequiredCodedElementNotTranscoded
	}
	switch m.Doc {
	case DocEP, DocEPL1:
		return ehdsi.ErrEPMissingExpectedMapping
	case DocED:
		return ehdsi.ErrEDMissingExpectedMapping
	}
	return ehdsi.ErrPSMissingExpectedMapping
}
