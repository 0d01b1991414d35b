package xcpd

import (
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
)

// Result is the outcome of a discovery, ready to be written.
type Result struct {
	Patient *national.Patient // the match, when exactly one
	// Code is the eHDSI code of a non-match outcome ("" on a match).
	Code ehdsi.Code
	Text string
	// Issue is the detectedIssueManagement code (AnswerNotAvailable,
	// InsufficientRights) of a non-match outcome.
	Issue string
}

// ResponseParams are the values a response takes from outside.
type ResponseParams struct {
	MessageID       string // the response's HL7 id root (a UUID)
	Now             time.Time
	HomeCommunityID string // Luxembourg's
}

func add(parent *etree.Element, tag string, attrs ...string) *etree.Element {
	e := parent.CreateElement(tag)
	if n := len(attrs) / 2; n > 0 {
		e.Attr = make([]etree.Attr, 0, n) // CreateAttr appends: one allocation
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

func hl7Time(t time.Time) string { return t.UTC().Format("20060102150405") }

// BuildResponse writes the PRPA_IN201306UV02 answering q with r.
func BuildResponse(q Query, r Result, p ResponseParams) *etree.Element {
	root := etree.NewElement("PRPA_IN201306UV02")
	root.CreateAttr("xmlns", NSHL7)
	root.CreateAttr("ITSVersion", "XML_1.0")
	add(root, "id", "root", strings.TrimPrefix(p.MessageID, "urn:uuid:"))
	add(root, "creationTime", "value", hl7Time(p.Now))
	add(root, "interactionId", "root", "2.16.840.1.113883.1.6", "extension", "PRPA_IN201306UV02")
	add(root, "processingCode", "code", "P")
	add(root, "processingModeCode", "code", "T")
	add(root, "acceptAckCode", "code", "NE")
	recvID := "unknown"
	if len(q.SenderIDs) > 0 && q.SenderIDs[0].Root != "" {
		recvID = q.SenderIDs[0].Root
	}
	device(add(root, "receiver", "typeCode", "RCV"), recvID)
	device(add(root, "sender", "typeCode", "SND"), p.HomeCommunityID)

	ack := add(root, "acknowledgement")
	typeCode := "AA"
	if r.Patient == nil && r.Code != ehdsi.ErrPINoMatch {
		typeCode = "AE"
	}
	add(ack, "typeCode", "code", typeCode)
	tm := add(ack, "targetMessage")
	tid := add(tm, "id", "root", orNull(q.MessageID.Root))
	if q.MessageID.Extension != "" {
		tid.CreateAttr("extension", q.MessageID.Extension)
	}
	if r.Patient == nil {
		detType := "E"
		if ehdsi.IsWarning(r.Code) {
			detType = "W"
		}
		det := add(ack, "acknowledgementDetail", "typeCode", detType)
		add(det, "code", "code", string(r.Code), "codeSystem", "1.3.6.1.4.1.12559.11.10.1.3.2.2.1", "displayName", ehdsi.Describe(r.Code))
		add(det, "text").SetText(r.Text)
	}

	cap := add(root, "controlActProcess", "classCode", "CACT", "moodCode", "EVN")
	add(cap, "code", "code", "PRPA_TE201306UV02", "codeSystem", "2.16.840.1.113883.1.6")
	if r.Patient != nil {
		subject(cap, r.Patient, p.HomeCommunityID)
	} else {
		reason := add(cap, "reasonOf", "typeCode", "RSON")
		ev := add(reason, "detectedIssueEvent", "classCode", "ALRT", "moodCode", "EVN")
		add(ev, "code", "code", "ActAdministrativeDetectedIssueCode", "codeSystem", "2.16.840.1.113883.5.4")
		mit := add(ev, "mitigatedBy", "typeCode", "MITGT")
		dim := add(mit, "detectedIssueManagement", "classCode", "ACT", "moodCode", "EVN")
		add(dim, "code", "code", r.Issue, "codeSystem", dialect.XCPDIssueSystemOf(r.Issue))
	}
	qa := add(cap, "queryAck")
	qid := add(qa, "queryId", "root", orNull(q.QueryID.Root))
	if q.QueryID.Extension != "" {
		qid.CreateAttr("extension", q.QueryID.Extension)
	}
	add(qa, "statusCode", "code", "deliveredResponse")
	switch {
	case r.Patient != nil:
		add(qa, "queryResponseCode", "code", "OK")
	case r.Code == ehdsi.ErrPINoMatch:
		add(qa, "queryResponseCode", "code", "NF")
	default:
		add(qa, "queryResponseCode", "code", "AE")
	}
	if q.QueryByParameter != nil {
		echo := q.QueryByParameter.Copy()
		echo.Space = ""
		stripPrefixes(echo)
		cap.AddChild(echo)
	}
	return root
}

// stripPrefixes moves an echoed element into the response's default
// namespace (partners use any prefix for urn:hl7-org:v3).
func stripPrefixes(e *etree.Element) {
	e.Space = ""
	kept := e.Attr[:0]
	for _, a := range e.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		kept = append(kept, a)
	}
	e.Attr = kept
	for c := range e.ChildElementsSeq() {
		stripPrefixes(c)
	}
}

func orNull(s string) string {
	if s == "" {
		return "2.25.0"
	}
	return s
}

func device(parent *etree.Element, id string) {
	d := add(parent, "device", "classCode", "DEV", "determinerCode", "INSTANCE")
	add(d, "id", "root", id)
	ag := add(d, "asAgent", "classCode", "AGNT")
	org := add(ag, "representedOrganization", "classCode", "ORG", "determinerCode", "INSTANCE")
	add(org, "id", "root", id)
}

var genderCodes = map[string]string{"male": "M", "female": "F", "other": "UN", "unknown": "UN"}

func subject(cap *etree.Element, pt *national.Patient, hcid string) {
	reg := add(add(cap, "subject", "typeCode", "SUBJ"), "registrationEvent", "classCode", "REG", "moodCode", "EVN")
	add(reg, "id", "nullFlavor", "NA")
	add(reg, "statusCode", "code", "active")
	pat := add(add(reg, "subject1", "typeCode", "SBJ"), "patient", "classCode", "PAT")
	add(pat, "id", "root", ehdsi.OIDMatricule, "extension", pt.Matricule)
	add(pat, "statusCode", "code", "active")
	person := add(pat, "patientPerson", "classCode", "PSN", "determinerCode", "INSTANCE")
	name := add(person, "name")
	for _, g := range pt.Given {
		add(name, "given").SetText(g)
	}
	add(name, "family").SetText(pt.Family)
	if g, ok := genderCodes[pt.Gender]; ok {
		add(person, "administrativeGenderCode", "code", g, "codeSystem", "2.16.840.1.113883.5.1")
	}
	if bt := strings.ReplaceAll(pt.BirthDate, "-", ""); bt != "" {
		add(person, "birthTime", "value", bt)
	}
	if a := pt.Address; a.City != "" || len(a.Lines) > 0 || a.Country != "" {
		addr := add(person, "addr")
		for _, l := range a.Lines {
			add(addr, "streetAddressLine").SetText(l)
		}
		if a.City != "" {
			add(addr, "city").SetText(a.City)
		}
		if a.PostalCode != "" {
			add(addr, "postalCode").SetText(a.PostalCode)
		}
		if a.Country != "" {
			add(addr, "country").SetText(a.Country)
		}
	}
	obs := add(add(pat, "subjectOf1", "typeCode", "SBJ"), "queryMatchObservation", "classCode", "COND", "moodCode", "EVN")
	add(obs, "code", "code", "IHE_PDQ")
	v := add(obs, "value", "value", "100")
	v.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	v.CreateAttr("xsi:type", "INT")
	cust := add(add(reg, "custodian", "typeCode", "CST"), "assignedEntity", "classCode", "ASSIGNED")
	add(cust, "id", "root", hcid)
	add(cust, "code", "code", "NotHealthDataLocator", "codeSystem", "1.3.6.1.4.1.19376.1.2.27.2")
}
