package audit

import (
	"errors"
	"fmt"
	"time"
)

// EventType is an eHDSI audit event code.
type EventType string

// The eHDSI audit events luxncp records.
const (
	EventIdentification       EventType = "EHDSI-11"  // XCPD ITI-55 patient identification
	EventPSList               EventType = "EHDSI-21"  // XCA ITI-38 Patient Summary list
	EventPSRetrieve           EventType = "EHDSI-22"  // XCA ITI-39 Patient Summary retrieve
	EventEPList               EventType = "EHDSI-31"  // XCA ITI-38 ePrescription list
	EventEPRetrieve           EventType = "EHDSI-32"  // XCA ITI-39 ePrescription retrieve
	EventOrCDList             EventType = "EHDSI-61"  // XCA ITI-38 original clinical documents list
	EventOrCDRetrieve         EventType = "EHDSI-62"  // XCA ITI-39 original clinical documents retrieve
	EventDispensationSubmit   EventType = "EHDSI-41"  // XDR ITI-41 eDispensation initialize
	EventDispensationDiscard  EventType = "EHDSI-42"  // XDR ITI-41 eDispensation discard
	EventHCPAssertion         EventType = "EHDSI-91"  // XUA ITI-40 HCP identity assertion issued
	EventTRCAssertion         EventType = "EHDSI-92"  // TRC assertion use
	EventPivotTranslation     EventType = "EHDSI-94"  // pivot document translation / transcoding
	EventCommunicationFailure EventType = "EHDSI-CF"  // communication failure with a partner
	EventSMPQuery             EventType = "EHDSI-193" // SMP query: a partner's signed service metadata fetched
	EventSMPPush              EventType = "EHDSI-194" // SMP push: Luxembourg's signed service metadata published

	// EventAccessLogRead is luxncp's own event, not an eHDSI one: someone
	// (the patient, a data-protection officer) read, or was refused, a
	// patient's access log. It is indexed under that patient, so the log
	// shows its own readers.
	EventAccessLogRead EventType = "LU-AL"
)

// eventInfo is what OpenNCP's EventType and TransactionName enums say about
// an event: the IHE transaction code and name (EventTypeCode/@csd-code and
// @originalText, EventID/@displayName) and the transaction name
// (EventTypeCode/@displayName).
type eventInfo struct {
	ihe      string // ITI-55, ITI-38 … or the eHDSI code itself
	iheName  string // XCPD::CrossGatewayPatientDiscovery …
	txName   string // IdentityService::FindIdentityByTraits …
	action   string // EventActionCode
	patients bool   // event carries patient participant objects
}

var events = map[EventType]eventInfo{
	EventIdentification:       {"ITI-55", "XCPD::CrossGatewayPatientDiscovery", "IdentityService::FindIdentityByTraits", "E", true},
	EventPSList:               {"ITI-38", "XCA::CrossGatewayQuery", "PatientService::List", "E", true},
	EventPSRetrieve:           {"ITI-39", "XCA::CrossGatewayRetrieve", "PatientService::Retrieve", "R", true},
	EventEPList:               {"ITI-38", "XCA::CrossGatewayQuery", "OrderService::List", "E", true},
	EventEPRetrieve:           {"ITI-39", "XCA::CrossGatewayRetrieve", "OrderService::Retrieve", "R", true},
	EventOrCDList:             {"ITI-38", "XCA::CrossGatewayQuery", "OrCDService::List", "E", true},
	EventOrCDRetrieve:         {"ITI-39", "XCA::CrossGatewayRetrieve", "OrCDService::Retrieve", "R", true},
	EventDispensationSubmit:   {"ITI-41", "XDR::ProvideandRegisterDocumentSet-b", "DispensationService::Initialize", "C", true},
	EventDispensationDiscard:  {"ITI-41", "XDR::ProvideandRegisterDocumentSet-b", "DispensationService::Discard", "C", true},
	EventHCPAssertion:         {"ITI-40", "XUA::ProvideX-UserAssertion", "identityProvider::HPAuthentication", "E", false},
	EventTRCAssertion:         {"EHDSI-92", "ncp::TrcAssertion", "ncp::TrcAssertion", "E", true},
	EventPivotTranslation:     {"EHDSI-94", "ncpTransformationMgr::Translate", "ncpTransformationMgr::Translate", "E", false},
	EventCommunicationFailure: {"EHDSI-CF", "epsosCommunicationFailure", "CommunicationFailure", "R", true},
	// OpenNCP's SMP audit (smpqueryauditmessage.xml): EventID SMP/EHDSI-193
	// "SMP::Query", the consumer and the SMP as provider, the metadata URL
	// base64 as the SignedServiceMetadata object.
	EventSMPQuery:      {"EHDSI-193", "SMP::Query", "SMP::Query", "E", false},
	EventSMPPush:       {"EHDSI-194", "SMP::Push", "SMP::Push", "E", false},
	EventAccessLogRead: {"LU-AL", "luxncp::PatientAccessLog", "AuditService::ReadPatientAccessLog", "R", true},
	EventOutboxReplay:  {"LU-OR", "luxncp::OutboxReplay", "DispensationService::OperatorReplay", "U", true},
	EventOutboxResolve: {"LU-OS", "luxncp::OutboxResolve", "DispensationService::OperatorResolve", "U", true},
}

// EventTypes lists every eHDSI event type the builder knows, in code
// order (EventAccessLogRead, EventOutboxReplay and EventOutboxResolve,
// luxncp's own, are known but not listed).
func EventTypes() []EventType {
	return []EventType{
		EventIdentification, EventPSList, EventPSRetrieve, EventEPList, EventEPRetrieve,
		EventDispensationSubmit, EventDispensationDiscard, EventOrCDList, EventOrCDRetrieve,
		EventHCPAssertion, EventTRCAssertion, EventPivotTranslation, EventCommunicationFailure,
		EventSMPQuery, EventSMPPush,
	}
}

// Known reports whether t is an event type the builder knows.
func (t EventType) Known() bool { _, ok := events[t]; return ok }

// Transaction is the IHE transaction of the event (ITI-55, ITI-38, ITI-39,
// ITI-41, ITI-40), or the eHDSI code for the eHDSI-only events.
func (t EventType) Transaction() string { return events[t].ihe }

// Outcome is the RFC 3881 EventOutcomeIndicator.
type Outcome int

// The RFC 3881 outcomes.
const (
	OutcomeSuccess        Outcome = 0  // success (also: success with warnings)
	OutcomeMinorFailure   Outcome = 4  // the action was not fully performed: e.g. no match, document missing
	OutcomeSeriousFailure Outcome = 8  // the action was not performed: denied, invalid request, backend error
	OutcomeMajorFailure   Outcome = 12 // the action was not performed and the node is impaired
)

// String is the outcome's RFC 3881 name.
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeMinorFailure:
		return "minor failure"
	case OutcomeSeriousFailure:
		return "serious failure"
	case OutcomeMajorFailure:
		return "major failure"
	}
	return fmt.Sprintf("outcome %d", int(o))
}

// Side says which role luxncp plays in the audited transaction.
type Side int

const (
	// SideA: luxncp is Country A (the patient's country) and answers a
	// foreign NCP's request; the zero value.
	SideA Side = iota
	// SideB: luxncp is Country B and forwards a Luxembourg HCP's request.
	SideB
)

// HCP is the health professional from the HCP identity assertion.
type HCP struct {
	ID             string `json:"id,omitempty"`             // XSPA subject id / NameID, e.g. house@ehdsi.eu
	Issuer         string `json:"issuer,omitempty"`         // assertion issuer, e.g. urn:idp:BE:countryB
	Name           string `json:"name,omitempty"`           // XSPA subject (display name)
	RoleCode       string `json:"roleCode,omitempty"`       // functional role code, e.g. ISCO-08 221
	RoleDisplay    string `json:"roleDisplay,omitempty"`    // e.g. Medical Doctors
	RoleSystem     string `json:"roleSystem,omitempty"`     // role code system OID (default ISCO-08 2.16.840.1.113883.2.9.6.2.7)
	Organisation   string `json:"organisation,omitempty"`   // XSPA organization
	OrganisationID string `json:"organisationId,omitempty"` // XSPA organization-id
	FacilityType   string `json:"facilityType,omitempty"`   // eHDSI healthcare facility type
	PurposeOfUse   string `json:"purposeOfUse,omitempty"`   // TREATMENT / EMERGENCY
	Country        string `json:"country,omitempty"`        // ISO 3166 alpha-2 of the HCP's country
}

// NCP is a national contact point taking part in the transaction.
type NCP struct {
	Country string `json:"country,omitempty"` // ISO 3166 alpha-2, from the certificate's C=
	Host    string `json:"host,omitempty"`    // certificate subject CN or host name: the ActiveParticipant UserID
	IP      string `json:"ip,omitempty"`      // network access point (IP address or host name)
}

// PatientID is one patient identifier (HL7 II).
type PatientID struct {
	Root      string `json:"root"`
	Extension string `json:"extension"`
}

// CX renders the id the way audit messages carry it: ext^^^&root&ISO.
func (p PatientID) CX() string { return p.Extension + "^^^&" + p.Root + "&ISO" }

// Event is one audited transaction as a handler knows it. Zero fields are
// left out of the message; Recorder fills Time, AuditSourceID and the luxncp
// side (Provider on SideA, Consumer on SideB) when they are empty.
type Event struct {
	Type      EventType `json:"type"`
	Side      Side      `json:"side,omitempty"`
	Time      time.Time `json:"time"`
	Outcome   Outcome   `json:"outcome"`
	ErrorCode string    `json:"errorCode,omitempty"` // eHDSI error code on failure, e.g. ERROR_PI_NO_MATCH
	ErrorText string    `json:"errorText,omitempty"` // the public fault text; never the private cause

	HCP      HCP `json:"hcp"`
	Consumer NCP `json:"consumer"` // service consumer: the requesting NCP (Country B)
	Provider NCP `json:"provider"` // service provider: the answering NCP (Country A)

	// Patients: the Luxembourg id first, then any other id of the same
	// patient (e.g. the id the requesting country sent).
	Patients []PatientID `json:"patients,omitempty"`
	// Patient is the patient's canonical national identifier: the 13-digit
	// matricule the national register resolved (a legacy 11-digit id mapped
	// to it), or, where no patient was resolved, the Luxembourg identifier
	// as sent, canonicalised when it parses (PatientKey). Recorder sets it;
	// the identifier as sent stays in Patients beside it.
	Patient string `json:"patient,omitempty"`
	// Documents: XDS document unique ids listed, retrieved or submitted.
	Documents []string `json:"documents,omitempty"`
	// SubmissionSetID: XDR submission set unique id (EHDSI-41/42).
	SubmissionSetID string `json:"submissionSetId,omitempty"`
	// HomeCommunityID of the queried community (urn:oid:…).
	HomeCommunityID string `json:"homeCommunityId,omitempty"`
	// Query: the request's query element (queryByParameter, AdhocQuery),
	// carried base64 in ParticipantObjectQuery. Optional.
	Query []byte `json:"query,omitempty"`

	RequestMessageID  string `json:"requestMessageId,omitempty"`  // wsa:MessageID of the request
	ResponseMessageID string `json:"responseMessageId,omitempty"` // wsa:MessageID of the response (RelatesTo = request)
	// RequestHeader / ResponseHeader: the SOAP headers (with the assertions),
	// kept as non-repudiation evidence as OpenNCP does. Optional.
	RequestHeader  []byte `json:"requestHeader,omitempty"`
	ResponseHeader []byte `json:"responseHeader,omitempty"`

	HCPAssertionID string `json:"hcpAssertionId,omitempty"`
	TRCAssertionID string `json:"trcAssertionId,omitempty"`

	// TranslationInput / TranslationOutput: ids of the documents before and
	// after pivot translation (EHDSI-94).
	TranslationInput  string `json:"translationInput,omitempty"`
	TranslationOutput string `json:"translationOutput,omitempty"`

	// Target: the SMP resource queried or published (EHDSI-193/194), a URL.
	Target string `json:"target,omitempty"`

	// Note: the operator's reason (luxncp outbox resolve --note); kept in
	// the record, not in the access log.
	Note string `json:"note,omitempty"`

	// AuditSourceID: the audit enterprise site, e.g. LU-1.
	AuditSourceID string `json:"auditSourceId,omitempty"`

	// Evidence: the ids of the signed non-repudiation evidence this
	// transaction stores (internal/evidence: its NRR and NRO), named here
	// before the evidence is written, so that the chain states which
	// evidence must exist (`luxncp evidence verify --all` checks it). Kept
	// in the record, not in the AuditMessage.
	Evidence []string `json:"evidence,omitempty"`
}

// ErrInvalidEvent is wrapped by Validate's errors.
var ErrInvalidEvent = errors.New("invalid audit event")

// Validate checks what every message needs.
func (e *Event) Validate() error {
	if !e.Type.Known() {
		return fmt.Errorf("%w: unknown event type %q", ErrInvalidEvent, e.Type)
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeMinorFailure, OutcomeSeriousFailure, OutcomeMajorFailure:
	default:
		return fmt.Errorf("%w: outcome %d", ErrInvalidEvent, e.Outcome)
	}
	if e.Time.IsZero() {
		return fmt.Errorf("%w: no time", ErrInvalidEvent)
	}
	if e.AuditSourceID == "" {
		return fmt.Errorf("%w: no audit source id", ErrInvalidEvent)
	}
	if e.Outcome != OutcomeSuccess && e.ErrorCode == "" {
		return fmt.Errorf("%w: %s without an error code", ErrInvalidEvent, e.Outcome)
	}
	return nil
}
