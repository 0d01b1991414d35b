package terminology

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
