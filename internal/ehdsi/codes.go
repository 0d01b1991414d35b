package ehdsi

// Code is an eHDSI error or warning code, as it appears on the wire in
// acknowledgementDetail/code/@code (XCPD) or RegistryError/@errorCode (XCA, XDR).
type Code string

// The eHDSI codes luxncp emits. Descriptions are in Describe.
const (
	ErrGeneric                      Code = "ERROR_GENERIC"
	ErrGenericDocumentMissing       Code = "ERROR_GENERIC_DOCUMENT_MISSING"
	ErrGenericServiceSignifier      Code = "ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN"
	ErrGenericConnectionNotPossible Code = "ERROR_GENERIC_CONNECTION_NOT_POSSIBLE"

	ErrHPIGeneric                   Code = "ERROR_HPI_GENERIC"
	ErrHPINoInformation             Code = "ERROR_HPI_NO_INFORMATION"
	ErrHPIInsufficientInformation   Code = "ERROR_HPI_INSUFFICIENT_INFORMATION"
	ErrHPIAuthenticationNotReceived Code = "ERROR_HPI_AUTHENTICATION_NOT_RECEIVED"

	ErrPIGeneric               Code = "ERROR_PI_GENERIC"
	ErrPINoMatch               Code = "ERROR_PI_NO_MATCH"
	ErrPIMultipleMatches       Code = "ERROR_PI_MULTIPLE_MATCHES"
	ErrPIIncorrectFormatting   Code = "ERROR_PI_INCORRECT_FORMATTING"
	ErrPIMissingRequiredFields Code = "ERROR_PI_MISSING_REQUIRED_FIELDS"
	ErrPIRegistryNotAvailable  Code = "ERROR_PI_REGISTRY_NOT_AVAILABLE"
	ErrPIInternalError         Code = "ERROR_PI_INTERNAL_ERROR"
	WarnPINoConsent            Code = "WARNING_PI_NO_CONSENT"

	ErrPSGeneric                Code = "ERROR_PS_GENERIC"
	ErrPSMissingExpectedMapping Code = "ERROR_PS_MISSING_EXPECTED_MAPPING"
	ErrPSIncorrectFormatting    Code = "ERROR_PS_INCORRECT_FORMATTING"
	ErrPSMissingRequiredFields  Code = "ERROR_PS_MISSING_REQUIRED_FIELDS"
	ErrPSInternalError          Code = "ERROR_PS_INTERNAL_ERROR"
	ErrPSRegistryNotAvailable   Code = "ERROR_PS_REGISTRY_NOT_AVAILABLE"
	ErrPSNoConsent              Code = "ERROR_PS_NO_CONSENT"
	ErrPSNotFound               Code = "ERROR_PS_NOT_FOUND"

	ErrEPGeneric                Code = "ERROR_EP_GENERIC"
	ErrEPMissingExpectedMapping Code = "ERROR_EP_MISSING_EXPECTED_MAPPING"
	ErrEPIncorrectFormatting    Code = "ERROR_EP_INCORRECT_FORMATTING"
	ErrEPMissingRequiredFields  Code = "ERROR_EP_MISSING_REQUIRED_FIELDS"
	ErrEPInternalError          Code = "ERROR_EP_INTERNAL_ERROR"
	ErrEPRegistryNotAvailable   Code = "ERROR_EP_REGISTRY_NOT_AVAILABLE"
	ErrEPNoConsent              Code = "ERROR_EP_NO_CONSENT"
	ErrEPNotFound               Code = "ERROR_EP_NOT_FOUND"
	WarningEPGeneric            Code = "WARNING_EP_GENERIC"

	ErrEDGeneric                     Code = "ERROR_ED_GENERIC"
	ErrEDNotDispensable              Code = "ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION"
	ErrEDSubstitutionNotAllowed      Code = "ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED"
	ErrEDPrescriptionNotIdentifiable Code = "ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE"
	ErrEDMissingExpectedMapping      Code = "ERROR_ED_MISSING_EXPECTED_MAPPING"
	ErrEDPrescriptionNotUpdated      Code = "ERROR_ED_EPRESCRIPTION_NOT_UPDATED"
	ErrEDNotStored                   Code = "ERROR_ED_EDISPENSATION_NOT_STORED"
	ErrEDDiscardFailed               Code = "ERROR_ED_DISCARD_FAILED"
	ErrEDIncorrectFormatting         Code = "ERROR_ED_INCORRECT_FORMATTING"
	ErrEDMissingRequiredFields       Code = "ERROR_ED_MISSING_REQUIRED_FIELDS"
	ErrEDInternalError               Code = "ERROR_ED_INTERNAL_ERROR"
	ErrEDRegistryNotAvailable        Code = "ERROR_ED_REGISTRY_NOT_AVAILABLE"
	ErrEDNoConsent                   Code = "ERROR_ED_NO_CONSENT"

	ErrORCDGeneric             Code = "ERROR_ORCD_GENERIC"
	ErrORCDServiceNotAvailable Code = "ERROR_ORCD_SERVICE_NOT_AVAILABLE"

	ErrSecGeneric                 Code = "ERROR_SEC_GENERIC"
	ErrSecDataIntegrityNotEnsured Code = "ERROR_SEC_DATA_INTEGRITY_NOT_ENSURED"

	// Codes of the numeric (pre-2020) MyHealth@EU family, still sent by
	// OpenNCP-based gateways for assertion and policy failures.
	ErrNotValidAssertion        Code = "1001"
	ErrNotValidTRCAssertion     Code = "1002"
	ErrDocumentNotFound         Code = "1100"
	ErrORCDNotFound             Code = "1104"
	ErrEPNotMatching            Code = "4105"
	ErrEPAlreadyDispensed       Code = "4106"
	ErrUnknownSignifier         Code = "4202"
	ErrTranscoding              Code = "4203"
	ErrUnknownPatientIdentifier Code = "4206"
	ErrNoConsent                Code = "4701"
	ErrWeakAuthentication       Code = "4702"
	ErrInsufficientRights       Code = "4703"
	ErrPolicyViolation          Code = "4705"

	// ErrRequiredCodedElementNotTranscoded is the eHDSI transcoding failure
	// for a coded element with usage R (no nullFlavor allowed).
	ErrRequiredCodedElementNotTranscoded Code = "ERROR_REQUIRED_CODED_ELEMENT_NOT_TRANSCODED"
)

var descriptions = map[Code]string{
	ErrGeneric:                           "Internal Server Error - Please retry or contact the server administrator and inform them of the time the error occurred",
	ErrGenericDocumentMissing:            "The document requested was not found",
	ErrGenericServiceSignifier:           "Class code not supported",
	ErrGenericConnectionNotPossible:      "The Country of Treatment (Country B) is unable to contact the Patient Country of Affiliation.",
	ErrHPIGeneric:                        "Health Professional (HP) Identification generic error",
	ErrHPINoInformation:                  "No information has been provided about the HP.",
	ErrHPIInsufficientInformation:        "Information provided about the HP is insufficient",
	ErrHPIAuthenticationNotReceived:      "HP authentication method has not been received by the Country of Affiliation",
	ErrPIGeneric:                         "Patient Identification generic error",
	ErrPINoMatch:                         "The identification and authentication used in the Country of Treatment (Country B) are not correctly provided or does not match any existing patient.",
	ErrPIMultipleMatches:                 "The identification and authentication used in the Country of Treatment (Country B) match multiple patients, instead of only one patient.",
	ErrPIIncorrectFormatting:             "The patient identifier does not have the right format.",
	ErrPIMissingRequiredFields:           "Some fields of the patient search mask are missing.",
	ErrPIRegistryNotAvailable:            "The patient identification service is unavailable.",
	ErrPIInternalError:                   "The application encountered an unexpected error.",
	WarnPINoConsent:                      "The patient has not given consent to the service.",
	ErrPSGeneric:                         "Patient Summary generic error",
	ErrPSMissingExpectedMapping:          "A needed code mapping is missing for the patient summary.",
	ErrPSIncorrectFormatting:             "The request contains a syntax error.",
	ErrPSMissingRequiredFields:           "The request is missing values that are needed to process the request.",
	ErrPSInternalError:                   "The application encountered an unexpected error.",
	ErrPSRegistryNotAvailable:            "The national PS registry service is unavailable.",
	ErrPSNoConsent:                       "The patient has not given consent to the service.",
	ErrPSNotFound:                        "The request is not containing a proper PS identifier.",
	ErrEPGeneric:                         "ePrescription generic error",
	ErrEPMissingExpectedMapping:          "A needed code mapping is missing for the prescription.",
	ErrEPIncorrectFormatting:             "ePrescription request contains a syntax error.",
	ErrEPMissingRequiredFields:           "ePrescription request is missing values that are needed to process the request.",
	ErrEPInternalError:                   "The application encountered an unexpected error.",
	ErrEPRegistryNotAvailable:            "The national ePrescription registry service is unavailable.",
	ErrEPNoConsent:                       "The patient has not given consent to the service.",
	ErrEPNotFound:                        "No ePrescription is registered for the given patient. ",
	WarningEPGeneric:                     "ePrescription generic warning",
	ErrEDGeneric:                         "Dispensation generic error",
	ErrEDNotDispensable:                  "The selected ePrescription is not dispensable",
	ErrEDSubstitutionNotAllowed:          "Country of Affiliation has received an information of substitution when it was not allowed based on its national legislation.",
	ErrEDPrescriptionNotIdentifiable:     "Some of the necessary information to allow the identification of the ePrescription and the related medicinal product are missing.",
	ErrEDMissingExpectedMapping:          "An expected code is missing.",
	ErrEDPrescriptionNotUpdated:          "Some of the ePrescription(s) could not be updated with the dispensed medicine information.",
	ErrEDNotStored:                       "Although the Country of Affiliation authorizes the eDispensation discard action, eDispensation information could not be stored by the Country of Affiliation.",
	ErrEDDiscardFailed:                   "The dispensation discard could not be performed in the Country of Affiliation",
	ErrEDIncorrectFormatting:             "eDispensation request contains a syntax error.",
	ErrEDMissingRequiredFields:           "eDispensation request is missing values that are needed to process the request.",
	ErrEDInternalError:                   "The application encountered an unexpected error.",
	ErrEDRegistryNotAvailable:            "The national eDispensation registry service is unavailable.",
	ErrEDNoConsent:                       "The patient has not given consent to the service.",
	ErrORCDGeneric:                       "Original Clinical Documents generic error",
	ErrORCDServiceNotAvailable:           "The Country of Treatment cannot contact the ORCD service of the Country of Affiliation",
	ErrSecGeneric:                        "SEC generic error",
	ErrSecDataIntegrityNotEnsured:        "Integrity of the exchanged data cannot be ensured by the Country of Affiliation, such as with an insufficient/invalidated SAML assertions,",
	ErrNotValidAssertion:                 "Assertion is not valid.",
	ErrNotValidTRCAssertion:              "The given TRC Assertion does not validate against the Identity Assertion",
	ErrDocumentNotFound:                  "No documents are registered for the given patient.",
	ErrORCDNotFound:                      "No ORCD document is registered for the given patient.",
	ErrEPNotMatching:                     "No matching ePrescription was found",
	ErrEPAlreadyDispensed:                "ePrescription has already been dispensed",
	ErrUnknownSignifier:                  "Class code not supported",
	ErrTranscoding:                       "The requested encoding cannot be provided due to a transcoding error. ",
	ErrUnknownPatientIdentifier:          "The patient identifier in the query differs from the patient identifier in the TRC assertion",
	ErrNoConsent:                         "The patient has not given consent to the requested service.",
	ErrWeakAuthentication:                "Country A requests a higher authentication trust level than assigned to the HP",
	ErrInsufficientRights:                "Either the security policy of country A or a privacy policy of the patient (that was given in country A) does not allow the requested operation to be performed by the HP",
	ErrPolicyViolation:                   "Policy violation",
	ErrRequiredCodedElementNotTranscoded: "A coded element required by the eHDSI pivot document could not be transcoded to the Master Value Catalogue.",
}

// Describe returns the eHDSI description of c, or "" for an unknown code.
func Describe(c Code) string { return descriptions[c] }

// IsWarning reports whether c is a warning (the transaction may still succeed).
func IsWarning(c Code) bool { return len(c) > 8 && c[:8] == "WARNING_" }

// Known reports whether c is in luxncp's list of eHDSI error and warning
// codes (the eHDSI codes and the OpenNCP numeric ones above).
func Known(c Code) bool {
	_, ok := descriptions[c]
	return ok
}
