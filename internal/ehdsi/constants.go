package ehdsi

// SOAP actions of the eHDSI transactions (WS-Addressing Action).
const (
	ActionXCPD            = "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"
	ActionXCPDResponse    = "urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery"
	ActionXCAQuery        = "urn:ihe:iti:2007:CrossGatewayQuery"
	ActionXCAQueryResp    = "urn:ihe:iti:2007:CrossGatewayQueryResponse"
	ActionXCARetrieve     = "urn:ihe:iti:2007:CrossGatewayRetrieve"
	ActionXCARetrieveResp = "urn:ihe:iti:2007:CrossGatewayRetrieveResponse"
	ActionXDR             = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
	ActionXDRResponse     = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
)

// Endpoint paths partners' OpenNCP-based gateways already call.
const (
	PathXCPD = "/openncp-ws-server/services/XCPD_Service"
	PathXCA  = "/openncp-ws-server/services/XCA_Service"
	PathXDR  = "/openncp-ws-server/services/XDR_Service"
)

// Class codes (LOINC) of eHDSI documents.
const (
	ClassPS        = "60591-5"
	ClassEP        = "57833-6"
	ClassED        = "60593-1"
	ClassEDDiscard = "DISCARD-60593-1"
	ClassLab       = "11502-2"
	ClassDischarge = "34105-7"
	ClassImaging   = "18748-4"
	ClassImages    = "x-clinical-image"
	LOINC          = "2.16.840.1.113883.6.1"
)

// eHDSI CDA document template ids.
const (
	TemplateEP            = "1.3.6.1.4.1.12559.11.10.1.3.1.1.1"
	TemplateED            = "1.3.6.1.4.1.12559.11.10.1.3.1.1.2"
	TemplatePS            = "1.3.6.1.4.1.12559.11.10.1.3.1.1.3"
	TemplateEPL1          = "1.3.6.1.4.1.12559.11.10.1.3.1.1.6"
	TemplatePSL1          = "1.3.6.1.4.1.12559.11.10.1.3.1.1.7"
	TemplateORCDLab       = "1.3.6.1.4.1.12559.11.10.1.3.1.1.8"
	TemplateORCDDischarge = "1.3.6.1.4.1.12559.11.10.1.3.1.1.9"
	TemplateORCDImaging   = "1.3.6.1.4.1.12559.11.10.1.3.1.1.10"
)

// Luxembourg identifiers.
const (
	OIDMatricule      = "1.3.182.4.4"
	OIDLUProduct      = "1.3.182.4.13"
	OIDLUHCP          = "1.3.182.4.1"
	OIDLUOrganisation = "1.3.182.4.2"
	// HomeCommunityLU is Luxembourg's MyHealth@EU home community id.
	HomeCommunityLU = "1.3.182.2.12.10000734.6.1"
	// OIDICD10EHDSI is the code system OID eHDSI CDA uses for ICD-10.
	OIDICD10EHDSI = "1.3.6.1.4.1.12559.11.10.1.3.1.44.2"
)

// XSPA permissions (urn:oasis:names:tc:xspa:1.0:subject:hl7:permission:…).
const (
	PermissionPrefix = "urn:oasis:names:tc:xspa:1.0:subject:hl7:permission:"
	PermPRD003       = "PRD-003" // review medical summary (PS)
	PermPRD004       = "PRD-004" // review ePrescription / medication list
	PermPRD005       = "PRD-005" // review clinical documents
	PermPRD006       = "PRD-006" // review patient demographics (XCPD)
	PermPRD010       = "PRD-010" // review medications / prescriptions
	PermPRD016       = "PRD-016" // review original clinical documents
	PermPPD032       = "PPD-032" // record consent
	PermPPD046       = "PPD-046" // record dispensation
)

// SAML / assertion constants.
const (
	AssertionHCPQualifier = "urn:ehdsi:assertions:hcp"
	AssertionTRCQualifier = "urn:ehdsi:assertions:trc"
	AssertionNoKQualifier = "urn:ehdsi:assertions:nok"
	AudienceXBorder       = "urn:ehdsi:assertions.audience:x-border"
)
