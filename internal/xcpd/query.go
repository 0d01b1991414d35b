package xcpd

import (
	"strings"

	"github.com/beevik/etree"
)

// NSHL7 is the HL7 v3 namespace of XCPD messages.
const NSHL7 = "urn:hl7-org:v3"

// ID is an HL7 II.
type ID struct{ Root, Extension string }

// Query is what a PRPA_IN201305UV02 asks.
type Query struct {
	MessageID   ID   // the request's id
	SenderIDs   []ID // sender device id(s)
	ReceiverIDs []ID
	QueryID     ID
	SubjectIDs  []ID
	Given       string
	Family      string
	BirthTime   string // HL7 TS: YYYYMMDD
	Gender      string // HL7 AdministrativeGender: M, F, UN
	Country     string
	// QueryByParameter is the element itself, for the audit record.
	QueryByParameter *etree.Element
}

// hl7 finds the first descendant along a path of local names in the HL7
// namespace, ignoring prefixes (partners use ns6:, default namespace, …).
func hl7(el *etree.Element, path ...string) *etree.Element {
	cur := el
	for _, p := range path {
		if cur == nil {
			return nil
		}
		var next *etree.Element
		for c := range cur.ChildElementsSeq() {
			if c.Tag == p && c.NamespaceURI() == NSHL7 {
				next = c
				break
			}
		}
		cur = next
	}
	return cur
}

func hl7All(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	if el == nil {
		return nil
	}
	for c := range el.ChildElementsSeq() {
		if c.Tag == tag && c.NamespaceURI() == NSHL7 {
			out = append(out, c)
		}
	}
	return out
}

func attr(el *etree.Element, name string) string {
	if el == nil {
		return ""
	}
	return strings.TrimSpace(el.SelectAttrValue(name, ""))
}

func idOf(el *etree.Element) ID { return ID{Root: attr(el, "root"), Extension: attr(el, "extension")} }

func deviceIDs(el *etree.Element) []ID {
	var ids []ID
	for _, id := range hl7All(hl7(el, "device"), "id") {
		ids = append(ids, idOf(id))
	}
	return ids
}

// ParseQuery reads a PRPA_IN201305UV02 body element. ok is false when the
// element is not one.
func ParseQuery(body *etree.Element) (q Query, ok bool) {
	if body == nil || body.Tag != "PRPA_IN201305UV02" || body.NamespaceURI() != NSHL7 {
		return q, false
	}
	q.MessageID = idOf(hl7(body, "id"))
	for _, s := range hl7All(body, "sender") {
		q.SenderIDs = append(q.SenderIDs, deviceIDs(s)...)
	}
	for _, r := range hl7All(body, "receiver") {
		q.ReceiverIDs = append(q.ReceiverIDs, deviceIDs(r)...)
	}
	qbp := hl7(body, "controlActProcess", "queryByParameter")
	q.QueryByParameter = qbp
	q.QueryID = idOf(hl7(qbp, "queryId"))
	pl := hl7(qbp, "parameterList")
	for _, lsid := range hl7All(pl, "livingSubjectId") {
		for _, v := range hl7All(lsid, "value") {
			q.SubjectIDs = append(q.SubjectIDs, idOf(v))
		}
	}
	if n := hl7(pl, "livingSubjectName", "value"); n != nil {
		var given []string
		for _, g := range hl7All(n, "given") {
			given = append(given, strings.TrimSpace(g.Text()))
		}
		q.Given = strings.Join(given, " ")
		if f := hl7(n, "family"); f != nil {
			q.Family = strings.TrimSpace(f.Text())
		}
	}
	q.BirthTime = attr(hl7(pl, "livingSubjectBirthTime", "value"), "value")
	q.Gender = attr(hl7(pl, "livingSubjectAdministrativeGender", "value"), "code")
	if c := hl7(pl, "patientAddress", "value", "country"); c != nil {
		q.Country = strings.TrimSpace(c.Text())
	}
	return q, true
}
