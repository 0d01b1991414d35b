package audit

import (
	"bytes"
	"encoding/base64"
	"net"
	"strconv"
	"strings"

	"github.com/luxncp/luxncp/internal/dialect"
)

// Code systems and fixed codes of the eHDSI audit profile, as OpenNCP's
// audit message builders write them.
const (
	csDICOM       = "DCM"
	csRFC3881     = "RFC-3881"
	csIHE         = "IHE Transactions"
	csEHDSI       = "eHealth DSI"
	csEHDSISec    = "eHealth DSI Security"
	csEHDSIMsg    = "eHealth DSI Msg"
	csEHDSITransl = "eHealth DSI Translation"
	csXDSMetadata = "IHE XDS Metadata"

	// ISCO08 is the code system of eHDSI HCP functional roles.
	ISCO08 = "2.16.840.1.113883.2.9.6.2.7"

	// xdsSubmissionSet is the XDS SubmissionSet classification node.
	xdsSubmissionSet = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
)

// Message builds the eHDSI audit message (DICOM AuditMessage, no namespace,
// unsigned: DICOM_Unsigned.xsd) for e. Same event, same bytes.
func Message(e Event) ([]byte, error) {
	w := getWriter()
	defer putWriter(w)
	if err := writeMessage(w, e); err != nil {
		return nil, err
	}
	return bytes.Clone(w.b.Bytes()), nil
}

// messageText is Message as the string a Record keeps, written once into
// a pooled buffer and copied once into the string.
func messageText(e Event) (string, error) {
	w := getWriter()
	defer putWriter(w)
	if err := writeMessage(w, e); err != nil {
		return "", err
	}
	return w.b.String(), nil
}

// writeMessage writes Message's document into w.
func writeMessage(w *xmlWriter, e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	info := events[e.Type]
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	root := w.start("AuditMessage")

	if e.Type == EventSMPQuery || e.Type == EventSMPPush {
		smpMessage(root, e, info)
	} else {
		eventIdentification(root, e, info)
	}

	switch e.Type {
	case EventSMPQuery, EventSMPPush:
		services(root, e)
	case EventPivotTranslation:
		// OpenNCP: only the translating NCP, as service consumer.
		self := e.Provider
		if e.Side == SideB {
			self = e.Consumer
		}
		service(root, self, true, "ServiceConsumer", "eHealth DSI Service Consumer")
	case EventCommunicationFailure:
		humanRequestor(root, e, true)
		services(root, e)
	default:
		pointOfCare(root, e)
		humanRequestor(root, e, humanIsRequestor(e))
		services(root, e)
	}

	auditSource(root, e.AuditSourceID)

	if info.patients {
		text := "Cross Gateway Patient Discovery"
		if e.Type == EventTRCAssertion || e.Type == EventCommunicationFailure {
			text = "Patient Number"
		}
		for _, p := range e.Patients {
			po := participantObject(root, p.CX(), "1", "1", "")
			code(po, "ParticipantObjectIDTypeCode", "2", csRFC3881, "Patient Number", text)
			po.end()
		}
	}
	if e.ErrorCode != "" {
		id := e.ErrorCode
		if e.Type == EventSMPQuery || e.Type == EventSMPPush {
			id = base64.StdEncoding.EncodeToString([]byte(e.Target)) // as OpenNCP's SMP error audit
		}
		po := participantObject(root, id, "2", "3", "")
		codeNoDisplay(po, "ParticipantObjectIDTypeCode", "9", csEHDSISec, "error message")
		if e.ErrorText != "" {
			detail(po, "errormsg", []byte(e.ErrorText))
		}
		po.end()
	}

	switch e.Type {
	case EventIdentification:
		query(root, e, e.HomeCommunityID, "24", "ITI-55", "Cross Gateway Patient Discovery")
	case EventPSList, EventEPList, EventOrCDList:
		query(root, e, e.RequestMessageID, "24", "ITI-38", "Cross Gateway Query")
		targets(root, e.Documents, "2", "4", "", "12", csDICOM, "Cross Gateway Query")
	case EventPSRetrieve, EventEPRetrieve, EventOrCDRetrieve:
		query(root, e, e.RequestMessageID, "3", "ITI-39", "Cross Gateway Retrieve")
		targets(root, e.Documents, "2", "4", "", "12", csDICOM, "Cross Gateway Retrieve")
	case EventDispensationSubmit, EventDispensationDiscard:
		id := e.SubmissionSetID
		if id == "" {
			id = e.RequestMessageID
		}
		po := participantObject(root, id, "2", "20", "")
		code(po, "ParticipantObjectIDTypeCode", xdsSubmissionSet, csXDSMetadata, "Patient Number", "Cross Gateway Query")
		po.end()
		lifeCycle := ""
		if e.Type == EventDispensationDiscard {
			lifeCycle = "14" // RFC 3881: permanent erasure / logical deletion
		}
		targets(root, e.Documents, "2", "4", lifeCycle, "12", "", "")
	case EventOutboxReplay, EventOutboxResolve:
		targets(root, e.Documents, "2", "4", "", "12", "", "")
	case EventSMPQuery, EventSMPPush:
		targets(root, nonEmpty(base64.StdEncoding.EncodeToString([]byte(e.Target))), "2", "", "", "SMP", csEHDSISec, "SignedServiceMetadata")
	case EventHCPAssertion:
		targets(root, nonEmpty(e.HCPAssertionID), "2", "", "", "IdA", csEHDSISec, "HCP Identity Assertion")
	case EventTRCAssertion:
		targets(root, nonEmpty(e.TRCAssertionID), "2", "", "", "TrcA", csEHDSISec, "TRC Assertion")
	case EventPivotTranslation:
		in := participantObject(root, e.TranslationInput, "4", "", "5")
		code(in, "ParticipantObjectIDTypeCode", "in", csEHDSITransl, "Input Data", "Input Data")
		in.end()
		out := participantObject(root, e.TranslationOutput, "4", "", "5")
		code(out, "ParticipantObjectIDTypeCode", "out", csEHDSITransl, "Output Data", "Output Data")
		out.end()
	}

	// Non-repudiation section: the request and response messages.
	if e.RequestMessageID != "" || e.ResponseMessageID != "" {
		message(root, "req", "Request Message", e.RequestMessageID, e.RequestHeader)
		message(root, "rsp", "Response Message", e.ResponseMessageID, e.ResponseHeader)
	}

	root.end()
	w.b.WriteByte('\n')
	return nil
}

func eventIdentification(root *xmlWriter, e Event, info eventInfo) {
	ei := root.start("EventIdentification")
	action := info.action
	if e.Type == EventDispensationSubmit || e.Type == EventDispensationDiscard {
		// As OpenNCP: "C" for both on Country A, "R" for both on Country B.
		action = dialect.EDAuditAction(e.Side == SideB)
	}
	setAttr(ei, "EventActionCode", action)
	setAttr(ei, "EventDateTime", e.Time.UTC().Format(timeFormat))
	setAttr(ei, "EventOutcomeIndicator", strconv.Itoa(int(e.Outcome)))
	id, text := eventID(e)
	code(ei, "EventID", id, csDICOM, info.iheName, text)
	code(ei, "EventTypeCode", info.ihe, csIHE, info.txName, info.iheName)
	ei.end()
}

// smpMessage is the EventIdentification of OpenNCP's SMP audit: EventID
// SMP in code system EHDSI-193 (or -194), then two EventTypeCodes.
func smpMessage(root *xmlWriter, e Event, info eventInfo) {
	ei := root.start("EventIdentification")
	setAttr(ei, "EventActionCode", info.action)
	setAttr(ei, "EventDateTime", e.Time.UTC().Format(timeFormat))
	setAttr(ei, "EventOutcomeIndicator", strconv.Itoa(int(e.Outcome)))
	code(ei, "EventID", "SMP", info.ihe, info.txName, info.txName)
	code(ei, "EventTypeCode", info.ihe, csIHE, info.txName, info.txName)
	code(ei, "EventTypeCode", "SMP", info.ihe, info.txName, info.txName)
	ei.end()
}

// eventID is the DICOM EventID: Query for queries, and for retrieve and
// dispensation Export on the side that sends the documents, Import on the
// side that receives them.
func eventID(e Event) (code, text string) {
	export := false
	switch e.Type {
	case EventPSRetrieve, EventEPRetrieve, EventOrCDRetrieve:
		export = e.Side == SideA
	case EventDispensationSubmit, EventDispensationDiscard:
		export = e.Side == SideB
	default:
		return "110112", "Query"
	}
	if export {
		return "110106", "Export"
	}
	return "110107", "Import"
}

// humanIsRequestor is OpenNCP's rule for the human requestor's
// UserIsRequestor: the side that received the HCP's request says true.
func humanIsRequestor(e Event) bool {
	switch e.Type {
	case EventDispensationSubmit, EventDispensationDiscard:
		return e.Side == SideA
	case EventPSRetrieve, EventEPRetrieve, EventOrCDRetrieve:
		return false
	case EventHCPAssertion, EventTRCAssertion, EventOutboxReplay, EventOutboxResolve:
		return true
	}
	return e.Side == SideB
}

func pointOfCare(root *xmlWriter, e Event) {
	user := e.HCP.Organisation
	if user == "" {
		user = "SP"
	}
	ap := root.start("ActiveParticipant")
	setAttr(ap, "UserID", user)
	setAttr(ap, "AlternativeUserID", user)
	setAttr(ap, "UserIsRequestor", "false")
	networkAccessPoint(ap, e.Consumer.IP)
	codeNoDisplay(ap, "RoleIDCode", "110152", csDICOM, "Destination Role ID")
	ap.end()
}

func humanRequestor(root *xmlWriter, e Event, requestor bool) {
	user := e.HCP.ID
	if e.HCP.Issuer != "" {
		user += "@" + e.HCP.Issuer
	}
	if user == "" {
		user = "N/A"
	}
	ap := root.start("ActiveParticipant")
	setAttr(ap, "UserID", "<"+user+">")
	if e.HCP.Name != "" {
		setAttr(ap, "AlternativeUserID", e.HCP.Name)
	}
	setAttr(ap, "UserIsRequestor", strconv.FormatBool(requestor))
	networkAccessPoint(ap, e.Consumer.IP)
	codeNoDisplay(ap, "RoleIDCode", "110153", csDICOM, "Source Role ID")
	if e.HCP.RoleCode != "" {
		system := e.HCP.RoleSystem
		if system == "" {
			system = ISCO08
		}
		display := e.HCP.RoleDisplay
		if display == "" {
			display = e.HCP.RoleCode
		}
		code(ap, "RoleIDCode", e.HCP.RoleCode, system, display, display)
	}
	ap.end()
}

func services(root *xmlWriter, e Event) {
	service(root, e.Consumer, true, "ServiceConsumer", "eHealth DSI Service Consumer")
	service(root, e.Provider, false, "ServiceProvider", "eHealth DSI Service Provider")
}

func service(root *xmlWriter, n NCP, requestor bool, role, display string) {
	user := n.Host
	if user == "" {
		user = n.Country
	}
	if user == "" {
		user = "N/A"
	}
	ap := root.start("ActiveParticipant")
	setAttr(ap, "UserID", user)
	setAttr(ap, "AlternativeUserID", user)
	setAttr(ap, "UserIsRequestor", strconv.FormatBool(requestor))
	networkAccessPoint(ap, n.IP)
	code(ap, "RoleIDCode", role, csEHDSI, display, display)
	ap.end()
}

// networkAccessPoint: type 2 for an IP address, 1 for a machine name.
func networkAccessPoint(ap *xmlWriter, nap string) {
	if nap == "" {
		return
	}
	setAttr(ap, "NetworkAccessPointID", nap)
	if net.ParseIP(nap) != nil {
		setAttr(ap, "NetworkAccessPointTypeCode", "2")
	} else {
		setAttr(ap, "NetworkAccessPointTypeCode", "1")
	}
}

func auditSource(root *xmlWriter, id string) {
	as := root.start("AuditSourceIdentification")
	setAttr(as, "AuditEnterpriseSiteID", id)
	setAttr(as, "AuditSourceID", id)
	as.start("AuditSourceTypeCode").attr("csd-code", "4").end() // application server process
	as.end()
}

// participantObject opens a ParticipantObjectIdentification; the caller
// writes its children and ends it.
func participantObject(root *xmlWriter, id, typeCode, role, lifeCycle string) *xmlWriter {
	po := root.start("ParticipantObjectIdentification")
	if id != "" {
		setAttr(po, "ParticipantObjectID", id)
	}
	setAttr(po, "ParticipantObjectTypeCode", typeCode)
	if role != "" {
		setAttr(po, "ParticipantObjectTypeCodeRole", role)
	}
	if lifeCycle != "" {
		setAttr(po, "ParticipantObjectDataLifeCycle", lifeCycle)
	}
	return po
}

// query is the system object for the query or retrieve request, with the
// query (base64) and the home community id.
func query(root *xmlWriter, e Event, id, role, tx, text string) {
	po := participantObject(root, id, "2", role, "")
	code(po, "ParticipantObjectIDTypeCode", tx, csIHE, "Patient Number", text)
	if len(e.Query) > 0 {
		po.start("ParticipantObjectQuery").base64Text(e.Query).end()
	}
	if e.HomeCommunityID != "" {
		detail(po, "ihe:homeCommunityID", []byte(e.HomeCommunityID))
	}
	po.end()
}

func targets(root *xmlWriter, ids []string, typeCode, role, lifeCycle, csd, system, display string) {
	for _, id := range ids {
		po := participantObject(root, id, typeCode, role, lifeCycle)
		code(po, "ParticipantObjectIDTypeCode", csd, system, display, display)
		po.end()
	}
}

func message(root *xmlWriter, csd, display, id string, header []byte) {
	po := participantObject(root, id, "4", "", "")
	code(po, "ParticipantObjectIDTypeCode", csd, csEHDSIMsg, display, csd)
	if len(header) > 0 {
		detail(po, "securityheader", header)
	}
	po.end()
}

func detail(po *xmlWriter, typ string, value []byte) {
	d := po.start("ParticipantObjectDetail")
	setAttr(d, "type", typ)
	d.base64Attr("value", value)
	d.end()
}

func code(parent *xmlWriter, name, csd, system, display, text string) {
	c := parent.start(name)
	setAttr(c, "csd-code", csd)
	setAttr(c, "codeSystemName", system)
	setAttr(c, "displayName", display)
	setAttr(c, "originalText", text)
	c.end()
}

func codeNoDisplay(parent *xmlWriter, name, csd, system, text string) {
	c := parent.start(name)
	setAttr(c, "csd-code", csd)
	setAttr(c, "codeSystemName", system)
	setAttr(c, "originalText", text)
	c.end()
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// timeFormat is EventDateTime's format: UTC, milliseconds, as OpenNCP writes it.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// setAttr writes an attribute, dropping characters XML 1.0 cannot carry
// (the values come from partners' assertions and certificates).
func setAttr(w *xmlWriter, key, value string) {
	w.attr(key, xmlClean(value))
}

func xmlClean(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if xmlChar(r) {
			return r
		}
		return -1
	}, s)
}

// xmlChar is XML 1.0's Char production (invalid UTF-8 decodes to U+FFFD).
func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
