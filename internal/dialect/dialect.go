package dialect

import (
	"strings"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// OpenNCP sources the rows cite (konateq/openncp).
const (
	SrcXDRServer  = "openncp-core/openncp-core-server/src/main/java/eu/europa/ec/sante/openncp/core/server/ihe/xdr/impl/XDRServiceImpl.java"
	SrcXCAServer  = "openncp-core/openncp-core-server/src/main/java/eu/europa/ec/sante/openncp/core/server/ihe/xca/impl/XCAServiceImpl.java"
	SrcEPBuilder  = "openncp-core/openncp-core-server/src/main/java/eu/europa/ec/sante/openncp/core/server/ihe/xca/impl/extrinsicobjectbuilder/ep/EPExtrinsicObjectBuilder.java"
	SrcOrCDBuild  = "openncp-core/openncp-core-server/src/main/java/eu/europa/ec/sante/openncp/core/server/ihe/xca/impl/extrinsicobjectbuilder/orcd/OrCDExtrinsicObjectBuilder.java"
	SrcPolicy     = "openncp-core/openncp-core-common/src/main/java/eu/europa/ec/sante/openncp/core/common/ihe/assertionvalidator/DefaultPolicyManagerImpl.java"
	SrcRoles      = "openncp-core/openncp-core-common/src/main/java/eu/europa/ec/sante/openncp/core/common/ihe/assertionvalidator/XSPARole.java"
	SrcErrorCodes = "openncp-common/src/main/java/eu/europa/ec/sante/openncp/common/error/OpenNCPErrorCode.java"
	SrcXCPDServer = "openncp-core/openncp-core-server/src/main/java/eu/europa/ec/sante/openncp/core/server/ihe/xcpd/impl/XCPDServiceImpl.java"
	SrcXDRClient  = "openncp-core/openncp-core-client/src/main/java/eu/europa/ec/sante/openncp/core/client/ihe/service/DispensationService.java"
)

// Coded is a coded XDS metadata value: nodeRepresentation, codingScheme
// slot and display name.
type Coded struct{ Code, Scheme, Display string }

// Format codes (XDSDocumentEntry.formatCode), compared case-sensitively by
// OpenNCP.
const (
	// FormatEDDispense: OpenNCP's Country A hands a submission whose
	// formatCode is exactly this string to saveDispensation (SrcXDRServer,
	// saveDocument). The lower-case "urn:epsos:ep:dis:2010" is answered 4202.
	FormatEDDispense = "urn:epSOS:ep:dis:2010"
	// FormatEDDiscard: …and this one to discardMedicationDispensed
	// (SrcXDRServer, saveDocument); OpenNCP's client writes it for a discard
	// (SrcXDRClient).
	FormatEDDiscard = "urn:eHDSI:ed:discard:2020"
	// FormatPS: PSExtrinsicObjectBuilder, L3.
	FormatPS = "urn:epSOS:ps:ps:2010"
	// FormatEP: EPExtrinsicObjectBuilder (SrcEPBuilder), L3.
	FormatEP = "urn:epsos:ep:pre:2010"
	// FormatPDF: the PS and eP L1 (PDF) entries (SrcEPBuilder).
	FormatPDF = "urn:ihe:iti:xds-sd:pdf:2008"
	// FormatOrCDPDF: every PDF original clinical document (SrcOrCDBuild),
	// coding scheme "eHDSI formatCodes".
	FormatOrCDPDF = "urn:eHDSI:orcd:pdf:2021"
)

// EDFormat is the formatCode of an eDispensation submission (discard true:
// its discard), as OpenNCP's client writes it and its server dispatches on
// it (SrcXDRServer, SrcXDRClient).
func EDFormat(discard bool) Coded {
	if discard {
		return Coded{FormatEDDiscard, "eHDSI formatCodes", "eHDSI coded eDispensation Discard"}
	}
	return Coded{FormatEDDispense, "eHDSI formatCodes", "epSOS coded eDispensation"}
}

// EDKind is what an eDispensation submission asks.
type EDKind int

const (
	EDUnknown EDKind = iota
	EDDispense
	EDDiscard
)

// EDKindOf tells a submission's kind as OpenNCP's Country A does: by its
// formatCode, exactly (SrcXDRServer, saveDocument). A submission without
// a formatCode (older luxncp and spec-only senders) falls back on its
// class code (60593-1 / DISCARD-60593-1); a formatCode OpenNCP does not
// know is EDUnknown, answered 4202 "Unknown document".
func EDKindOf(formatCode, classCode string) EDKind {
	switch formatCode {
	case FormatEDDispense:
		return EDDispense
	case FormatEDDiscard:
		return EDDiscard
	case "":
		switch classCode {
		case ehdsi.ClassED:
			return EDDispense
		case ehdsi.ClassEDDiscard:
			return EDDiscard
		}
	}
	return EDUnknown
}

// FormatCode is the formatCode of a listed entry: L1 PS/eP is the IHE PDF
// code, an original clinical document the eHDSI OrCD code, L3 PS/eP/eD the
// eHDSI pivot codes (SrcEPBuilder, SrcOrCDBuild).
func FormatCode(class string, l1 bool) Coded {
	switch class {
	case ehdsi.ClassLab, ehdsi.ClassImaging, ehdsi.ClassDischarge:
		return Coded{FormatOrCDPDF, "eHDSI formatCodes", "PDF/A coded document"}
	}
	if l1 {
		return Coded{FormatPDF, "IHE PCC", "PDF/A coded document"}
	}
	switch class {
	case ehdsi.ClassPS:
		return Coded{FormatPS, "eHDSI formatCodes", "epSOS coded Patient Summary"}
	case ehdsi.ClassEP:
		return Coded{FormatEP, "eHDSI formatCodes", "epSOS coded ePrescription"}
	case ehdsi.ClassED:
		return EDFormat(false)
	}
	return Coded{FormatPDF, "IHE PCC", "PDF/A coded document"}
}

// IsOrCD reports whether class is an original clinical document class.
func IsOrCD(class string) bool {
	switch class {
	case ehdsi.ClassLab, ehdsi.ClassImaging, ehdsi.ClassDischarge, ehdsi.ClassImages:
		return true
	}
	return false
}

// SelfTransform reports whether a listed entry of class carries an XFRM
// association to itself, as OpenNCP writes for every original clinical
// document (SrcXCAServer, buildOrCDExtrinsicObject: makeAssociation(x, x)).
func SelfTransform(class string) bool { return IsOrCD(class) }

// EPItem is what the eP list entry says about a prescribed item, from the
// national data.
type EPItem struct {
	Dispensable      bool
	ATC, ATCName     string
	DoseForm         string // EDQM code
	DoseFormName     string
	Strength         string // e.g. "20 mg"
	SubstitutionCode string // HL7 ActSubstanceAdminSubstitutionCode, "" when unknown
	SubstitutionName string
}

// Code systems of the eP eventCodeList classifications (SrcEPBuilder).
const (
	SystemWorkflow     = "1.3.6.1.4.1.19376.1.2.3"
	SystemATC          = "2.16.840.1.113883.6.73"
	SystemDoseForm     = "0.4.0.127.0.16.1.1.2.1"
	SystemStrength     = "eHDSI_Strength_CodeSystem"
	SystemSubstitution = "2.16.840.1.113883.5.1070"
	EventOpen          = "urn:ihe:iti:xdw:2011:eventCode:open"
	EventClosed        = "urn:ihe:iti:xdw:2011:eventCode:closed"
)

// EPEventCodes are the eventCodeList classifications of an eP list entry,
// in OpenNCP's order (SrcEPBuilder): the dispensable flag (open / closed —
// OpenNCP's client treats a missing flag as not dispensable), the ATC
// code, the EDQM dose form, the strength and the substitution code; empty
// values are left out as OpenNCP does.
func EPEventCodes(it EPItem) []Coded {
	out := []Coded{{EventClosed, SystemWorkflow, "Closed"}}
	if it.Dispensable {
		out[0] = Coded{EventOpen, SystemWorkflow, "Open"}
	}
	if strings.TrimSpace(it.ATC) != "" {
		out = append(out, Coded{it.ATC, SystemATC, it.ATCName})
	}
	if strings.TrimSpace(it.DoseForm) != "" {
		out = append(out, Coded{it.DoseForm, SystemDoseForm, it.DoseFormName})
	}
	if strings.TrimSpace(it.Strength) != "" {
		out = append(out, Coded{it.Strength, SystemStrength, "Strength of medication"})
	}
	if strings.TrimSpace(it.SubstitutionCode) != "" {
		out = append(out, Coded{it.SubstitutionCode, SystemSubstitution, it.SubstitutionName})
	}
	return out
}
