package ncpclient

import (
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/soap"
)

const nsHL7 = "urn:hl7-org:v3"

// XCPDQuery describes a patient discovery.
type XCPDQuery struct {
	SenderHCID   string // requesting community (Country B)
	ReceiverHCID string // answering community (Country A)
	PatientID    string
	PatientRoot  string // e.g. 1.3.182.4.4
	Given        string
	Family       string
	BirthDate    string // YYYY-MM-DD
	Gender       string // M | F
	Country      string // patient address country
	Now          time.Time
}

func uuid() string { return soap.NewUUID() }

func el(parent *etree.Element, tag string, attrs ...string) *etree.Element {
	e := parent.CreateElement(tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

func hl7Device(parent *etree.Element, id string) {
	d := el(parent, "device", "classCode", "DEV", "determinerCode", "INSTANCE")
	el(d, "id", "root", id)
	org := el(el(d, "asAgent", "classCode", "AGNT"), "representedOrganization", "classCode", "ORG", "determinerCode", "INSTANCE")
	el(org, "id", "root", id)
}

// XCPDBody builds a PRPA_IN201305UV02.
func XCPDBody(q XCPDQuery) *etree.Element {
	if q.Now.IsZero() {
		q.Now = clock.Now()
	}
	root := etree.NewElement("PRPA_IN201305UV02")
	root.CreateAttr("xmlns", nsHL7)
	root.CreateAttr("ITSVersion", "XML_1.0")
	el(root, "id", "root", uuid())
	el(root, "creationTime", "value", q.Now.UTC().Format("20060102150405"))
	el(root, "interactionId", "root", "2.16.840.1.113883.1.6", "extension", "PRPA_IN201305UV02")
	el(root, "processingCode", "code", "P")
	el(root, "processingModeCode", "code", "T")
	el(root, "acceptAckCode", "code", "AL")
	hl7Device(el(root, "receiver", "typeCode", "RCV"), q.ReceiverHCID)
	hl7Device(el(root, "sender", "typeCode", "SND"), q.SenderHCID)
	cap := el(root, "controlActProcess", "classCode", "CACT", "moodCode", "EVN")
	el(cap, "code", "code", "PRPA_TE201305UV02", "codeSystem", "2.16.840.1.113883.1.6")
	qbp := el(cap, "queryByParameter")
	el(qbp, "queryId", "root", uuid())
	el(qbp, "statusCode", "code", "new")
	el(qbp, "responseModalityCode", "code", "R")
	el(qbp, "responsePriorityCode", "code", "I")
	pl := el(qbp, "parameterList")
	if q.Gender != "" {
		g := el(pl, "livingSubjectAdministrativeGender")
		el(g, "value", "code", q.Gender, "codeSystem", "2.16.840.1.113883.5.1")
		el(g, "semanticsText").SetText("LivingSubject.administrativeGender")
	}
	if q.BirthDate != "" {
		b := el(pl, "livingSubjectBirthTime")
		el(b, "value", "value", strings.ReplaceAll(q.BirthDate, "-", ""))
		el(b, "semanticsText").SetText("LivingSubject.birthTime")
	}
	if q.PatientID != "" {
		id := el(pl, "livingSubjectId")
		el(id, "value", "root", q.PatientRoot, "extension", q.PatientID)
		el(id, "semanticsText").SetText("LivingSubject.id")
	}
	if q.Family != "" {
		n := el(pl, "livingSubjectName")
		v := el(n, "value")
		if q.Given != "" {
			el(v, "given").SetText(q.Given)
		}
		el(v, "family").SetText(q.Family)
		el(n, "semanticsText").SetText("LivingSubject.name")
	}
	if q.Country != "" {
		a := el(pl, "patientAddress")
		el(el(a, "value"), "country").SetText(q.Country)
		el(a, "semanticsText").SetText("Patient.addr")
	}
	return root
}
