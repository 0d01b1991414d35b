package dialect

import (
	"github.com/luxncp/luxncp/internal/ehdsi"
)

// Placement says where an outcome reaches the partner.
type Placement string

const (
	// InRegistryErrorList: a RegistryError in the normal XCA / XDR
	// response (HTTP 200).
	InRegistryErrorList Placement = "RegistryErrorList"
	// InXCPDDetail: an acknowledgementDetail and a detectedIssue in the
	// normal XCPD response.
	InXCPDDetail Placement = "XCPD acknowledgementDetail"
)

// ebRS response statuses.
const (
	StatusSuccess = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
	StatusFailure = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
	StatusPartial = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
)

// XCPDIssueSystem is the code system of IHE ITI-55's own
// detectedIssueManagement codes (AnswerNotAvailable, ResponderBusy,
// InternalError): 1.3.6.1.4.1.19376.1.2.27.3, as OpenNCP's XCPDErrorCode
// writes them (SrcXCPDServer).
const XCPDIssueSystem = "1.3.6.1.4.1.19376.1.2.27.3"

// XCPDEHDSIIssueSystem is the code system of the eHDSI XCPD codes
// (InsufficientRights, PrivacyViolation, DemographicsQueryNotAllowed, …):
// OpenNCP's EhdsiXcpdErrorCode.getCodeSystem, and the eHDSI DE mock sample
// PRPA_IN201306UV02_DE-mock_45_InsufficientRights_AE.
const XCPDEHDSIIssueSystem = "1.3.6.1.4.1.12559.11.10.1.3.2.2.1"

// XCPDIssueSystemOf returns the code system a detectedIssueManagement code
// is written with: the eHDSI one for eHDSI's codes, IHE's for the others.
func XCPDIssueSystemOf(code string) string {
	switch code {
	case "AdditionalDemographicsRequested", "DemographicsQueryNotAllowed", "EHICDataRequested",
		"PrivacyViolation", "InsufficientRights", "PatientAuthenticationRequired", "PolicyViolation":
		return XCPDEHDSIIssueSystem
	}
	return XCPDIssueSystem
}

// Outcome is a situation luxncp answers in a fixed way.
type Outcome int

// The situations of the table.
const (
	PSNotFound Outcome = iota + 1
	EPNotFound
	OrCDNotFound
	NoConsent
	InsufficientRights
	PatientMismatch
	UnknownClass
	EDUnknownDocument
	EDNotStored
	EPItemWithheld
	XCPDInsufficientRights
	ListedBesideEntries
)

// Row is one line of the dialect table.
type Row struct {
	Outcome     Outcome
	Name        string
	Transaction string // ITI-38, ITI-39, ITI-41, ITI-55
	Code        ehdsi.Code
	Severity    ehdsi.Severity
	// Status is the ebRS status of a response whose only note is this row
	// (XCPD rows: empty).
	Status string
	Place  Placement
	// Source is the OpenNCP file (konateq/openncp) this row mirrors.
	Source string
}

// Table returns the dialect table, one row per outcome.
func Table() []Row {
	return []Row{
		// Patient Summary list with no document: ERROR_PS_NOT_FOUND as a
		// Warning with Success (XCAServiceImpl.adhocQueryResponseBuilder,
		// case PS_CLASSCODE), not ERROR_GENERIC_DOCUMENT_MISSING / Error.
		{PSNotFound, "PS list: nothing found", "ITI-38", ehdsi.ErrPSNotFound, ehdsi.SeverityWarning, StatusSuccess, InRegistryErrorList, SrcXCAServer},
		// ePrescription list with no prescription: ERROR_EP_NOT_FOUND as a
		// Warning; OpenNCP sets the status to Failure there
		// (XCAServiceImpl, case EP_CLASSCODE).
		{EPNotFound, "eP list: nothing found", "ITI-38", ehdsi.ErrEPNotFound, ehdsi.SeverityWarning, StatusFailure, InRegistryErrorList, SrcXCAServer},
		// Original clinical documents list with nothing: 1104
		// (ERROR_ORCD_NOT_FOUND) as a Warning with Success (XCAServiceImpl,
		// case ORCD_*; code in OpenNCPErrorCode).
		{OrCDNotFound, "OrCD list: nothing found", "ITI-38", ehdsi.ErrORCDNotFound, ehdsi.SeverityWarning, StatusSuccess, InRegistryErrorList, SrcXCAServer},
		// No consent: ERROR_PS_NO_CONSENT for every class, Error
		// (XCAServiceImpl: isConsentGiven in query and retrieve).
		{NoConsent, "no consent", "ITI-38/39", ehdsi.ErrPSNoConsent, ehdsi.SeverityError, StatusFailure, InRegistryErrorList, SrcXCAServer},
		// Permission missing (all-of per class, DefaultPolicyManagerImpl):
		// InsufficientRightsException becomes a RegistryError 4703
		// (XCAServiceImpl: catch InsufficientRightsException), not a Fault.
		{InsufficientRights, "permission missing", "ITI-38/39/41", ehdsi.ErrInsufficientRights, ehdsi.SeverityError, StatusFailure, InRegistryErrorList, SrcPolicy},
		// The query's patient differs from the TRC assertion's: 4206 in the
		// RegistryErrorList (OpenNCPErrorCode ERROR_UNKNOWN_PATIENT_IDENTIFIER;
		// XCAServiceImpl answers the mismatch inside the response).
		{PatientMismatch, "patient differs from TRC", "ITI-38/39/41", ehdsi.ErrUnknownPatientIdentifier, ehdsi.SeverityError, StatusFailure, InRegistryErrorList, SrcXCAServer},
		// A class code not served: ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN
		// in the RegistryErrorList (XCAServiceImpl, default case).
		{UnknownClass, "class code not served", "ITI-38/39", ehdsi.ErrGenericServiceSignifier, ehdsi.SeverityError, StatusFailure, InRegistryErrorList, SrcXCAServer},
		// An eD submission whose formatCode is neither dispensation nor
		// discard: 4202 "Unknown document" (XDRServiceImpl.reportDocumentTypeError).
		{EDUnknownDocument, "eD: unknown document", "ITI-41", ehdsi.ErrUnknownSignifier, ehdsi.SeverityError, StatusFailure, InRegistryErrorList, SrcXDRServer},
		// The eDispensation could not be stored: a RegistryError with
		// Failure (XDRServiceImpl.saveDispensation: NIException → RegistryError).
		{EDNotStored, "eD: not stored", "ITI-41", ehdsi.ErrEDNotStored, ehdsi.SeverityError, StatusFailure, InRegistryErrorList, SrcXDRServer},
		// A prescription luxncp does not offer (cancelled, draft or
		// entered in error, which no pivot ePrescription may carry;
		// incomplete): a Warning beside the list (XCAServiceImpl writes
		// WARNING severities beside a Success list). A merely
		// non-dispensable one (expired, dispensed …) is listed with the
		// closed flag instead (EPEventCodes).
		{EPItemWithheld, "eP item withheld", "ITI-38", ehdsi.WarningEPGeneric, ehdsi.SeverityWarning, StatusSuccess, InRegistryErrorList, SrcXCAServer},
		// XCPD without PRD-006 or with a role outside the list: an
		// InsufficientRights detected issue in the normal response
		// (XCPDServiceImpl: InsufficientRightsException).
		{XCPDInsufficientRights, "XCPD permission missing", "ITI-55", ehdsi.ErrInsufficientRights, ehdsi.SeverityError, "", InXCPDDetail, SrcXCPDServer},
		// Any note beside listed entries goes as a Warning with Success: an
		// OpenNCP client raises an error for any Error-severity entry and
		// drops a PartialSuccess list (AdhocQueryResponseConverter), so
		// luxncp never sends PartialSuccess with an Error on a list.
		{ListedBesideEntries, "note beside listed entries", "ITI-38", "", ehdsi.SeverityWarning, StatusSuccess, InRegistryErrorList, SrcXCAServer},
	}
}

// Lookup returns the row of o; ok is false for an outcome not in the table.
func Lookup(o Outcome) (Row, bool) {
	for _, r := range Table() {
		if r.Outcome == o {
			return r, true
		}
	}
	return Row{}, false
}

// Fault is the application fault of outcome o with the table's code and
// severity; public is the partner-facing text ("" for the eHDSI
// description).
func Fault(o Outcome, public string, cause error) *ehdsi.Fault {
	r, _ := Lookup(o)
	if public == "" {
		public = ehdsi.Describe(r.Code)
	}
	return &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: r.Code, Public: public, Cause: cause, Level: r.Severity}
}

// NotFound is the "nothing found" outcome of a list of class.
func NotFound(class string) Outcome {
	switch class {
	case ehdsi.ClassPS:
		return PSNotFound
	case ehdsi.ClassEP:
		return EPNotFound
	}
	return OrCDNotFound
}

// ListStatus is the ebRS status of a query response with entries entries
// and the given notes: with entries, Success (notes beside entries are
// Warnings, ListedBesideEntries); without, Failure when a note is an Error,
// else the status the table gives the notes (Failure wins).
func ListStatus(entries int, notes []*ehdsi.Fault) string {
	if entries > 0 {
		return StatusSuccess
	}
	status := StatusSuccess
	for _, n := range notes {
		if n.Severity() == ehdsi.SeverityError {
			return StatusFailure
		}
		for _, r := range Table() {
			if r.Code == n.Code && r.Severity == n.Severity() && r.Status == StatusFailure {
				status = StatusFailure
			}
		}
	}
	return status
}
