package audit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/testutil"
)

// Synthetic participants.
var (
	testTime = time.Date(2026, 11, 24, 10, 0, 0, 123e6, time.UTC)
	testHCP  = HCP{
		ID: "hcp-4711@ehealth.fr.test", Issuer: "urn:idp:FR:countryB", Name: "Dr Camille Exemple",
		RoleCode: "221", RoleDisplay: "Medical Doctors", Organisation: "Hopital Exemple Paris",
		OrganisationID: "urn:oid:1.2.250.1.999.1", FacilityType: "Hospital", PurposeOfUse: "TREATMENT", Country: "FR",
	}
	testFR      = NCP{Country: "FR", Host: "ncp.fr.ehealth.testa.eu", IP: "192.0.2.10"}
	testLU      = NCP{Country: "LU", Host: "ncp.lu.ehealth.testa.eu", IP: "198.51.100.5"}
	testPatient = PatientID{Root: ehdsi.OIDMatricule, Extension: "1990010112385"}
	testFRID    = PatientID{Root: "1.2.250.1.213.1.4.8", Extension: "FR-TEST-0042"}
	testDocs    = []string{"1.3.182.2.12.10000734.6.1.42.1", "1.3.182.2.12.10000734.6.1.42.2"}
)

func baseEvent(t EventType) Event {
	return Event{
		Type: t, Time: testTime, HCP: testHCP, Consumer: testFR, Provider: testLU,
		Patients:          []PatientID{testPatient},
		RequestMessageID:  "urn:uuid:0b7e6c1e-1d7a-4e55-9a53-0c4f3b7d2a01",
		ResponseMessageID: "urn:uuid:0b7e6c1e-1d7a-4e55-9a53-0c4f3b7d2a02",
		HCPAssertionID:    "_4f1c2a3b-hcp", TRCAssertionID: "_9d8e7f6a-trc",
		AuditSourceID: DefaultAuditSourceID,
	}
}

// messageCase is one golden audit message and the OpenNCP sample it is
// checked against (built on the sample's NCP side).
type messageCase struct {
	name       string
	event      Event
	sample     string
	sampleSide Side
}

func messageCases() []messageCase {
	withQuery := func(e Event) Event {
		e.Query = []byte(`<queryByParameter xmlns="urn:hl7-org:v3"/>`)
		e.HomeCommunityID = "urn:oid:" + ehdsi.HomeCommunityLU
		return e
	}
	withDocs := func(e Event) Event { e.Documents = testDocs; return e }
	fail := func(e Event, o Outcome, code ehdsi.Code) Event {
		e.Outcome, e.ErrorCode, e.ErrorText = o, string(code), ehdsi.Describe(code)
		return e
	}
	ident := withQuery(baseEvent(EventIdentification))
	ident.Patients = []PatientID{testPatient, testFRID}
	sub := withDocs(baseEvent(EventDispensationSubmit))
	sub.SubmissionSetID = "1.3.182.2.12.10000734.6.1.99.7"
	disc := withDocs(baseEvent(EventDispensationDiscard))
	disc.SubmissionSetID = "1.3.182.2.12.10000734.6.1.99.8"
	hcp := baseEvent(EventHCPAssertion)
	hcp.Patients, hcp.RequestMessageID, hcp.ResponseMessageID = nil, "", ""
	trc := baseEvent(EventTRCAssertion)
	trc.RequestMessageID, trc.ResponseMessageID = "", ""
	pivot := Event{Type: EventPivotTranslation, Time: testTime, Provider: testLU, AuditSourceID: DefaultAuditSourceID,
		TranslationInput: "1.3.182.2.12.10000734.6.1.42.1", TranslationOutput: "1.3.182.2.12.10000734.6.1.42.1.L1"}
	cf := fail(baseEvent(EventCommunicationFailure), OutcomeSeriousFailure, ehdsi.ErrGenericConnectionNotPossible)
	cf.RequestMessageID, cf.ResponseMessageID = "", ""
	smpURL := "http://127.0.0.1:58099/ehealth-participantid-qns%3A%3Aurn%3Aehealth%3Afr%3Ancp-idp/services/ehealth-resid-qns%3A%3Aurn%3Aehealth%3APatientIdentificationAndAuthentication%3A%3AXCPD%3A%3ACrossGatewayPatientDiscovery%23%23ITI-55"
	smpQuery := Event{Type: EventSMPQuery, Side: SideB, Time: testTime, Consumer: testLU,
		Provider: NCP{Host: "smp.luxncp.test", IP: "127.0.0.1"}, Target: smpURL, AuditSourceID: DefaultAuditSourceID}
	smpPush := smpQuery
	smpPush.Type = EventSMPPush

	return []messageCase{
		{"EHDSI-11", ident, "auditMessage.xml", SideA},
		{"EHDSI-11_no-match", fail(ident, OutcomeMinorFailure, ehdsi.ErrPINoMatch), "auditMessage.xml", SideA},
		{"EHDSI-21", withDocs(withQuery(baseEvent(EventPSList))), "patientservicelistauditmessage.xml", SideA},
		{"EHDSI-22", withDocs(withQuery(baseEvent(EventPSRetrieve))), "patientserviceretrievetauditmessage.xml", SideA},
		{"EHDSI-22_no-consent", fail(withDocs(withQuery(baseEvent(EventPSRetrieve))), OutcomeSeriousFailure, ehdsi.ErrPSNoConsent), "patientserviceretrievetauditmessage.xml", SideA},
		{"EHDSI-31", withDocs(withQuery(baseEvent(EventEPList))), "patientservicelistauditmessage.xml", SideA},
		{"EHDSI-32", withDocs(withQuery(baseEvent(EventEPRetrieve))), "patientserviceretrievetauditmessage.xml", SideA},
		{"EHDSI-41", sub, "dispensationserviceauditmessage.xml", SideA},
		{"EHDSI-42", disc, "dispensationservicediscardauditmessage.xml", SideB},
		{"EHDSI-61", withDocs(withQuery(baseEvent(EventOrCDList))), "patientservicelistauditmessage.xml", SideA},
		{"EHDSI-62", withDocs(withQuery(baseEvent(EventOrCDRetrieve))), "patientserviceretrievetauditmessage.xml", SideA},
		{"EHDSI-91", hcp, "hcpauthenticationauditmessage.xml", SideA},
		{"EHDSI-92", trc, "trcassertionauditmessage.xml", SideA},
		{"EHDSI-94", pivot, "pivottranslationsauditmessage.xml", SideA},
		{"EHDSI-CF", cf, "communicationfailureauditmessage.xml", SideA},
		{"EHDSI-193", smpQuery, "smpqueryauditmessage.xml", SideB},
		{"EHDSI-193_error", fail(smpQuery, OutcomeSeriousFailure, ehdsi.ErrGeneric), "smpqueryauditmessagewitherror.xml", SideB},
		// No push sample: the query's shape with the push codes.
		{"EHDSI-194", smpPush, "smpqueryauditmessage.xml", SideB},
	}
}

func TestMessageGolden(t *testing.T) {
	seen := map[EventType]bool{}
	for _, tc := range messageCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Message(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Message(tc.event)
			if err != nil || !bytes.Equal(got, again) {
				t.Fatalf("not deterministic (err %v)", err)
			}
			testutil.Golden(t, "message/"+tc.name+".xml", got)
		})
		seen[tc.event.Type] = true
	}
	for _, et := range EventTypes() {
		if !seen[et] {
			t.Errorf("no golden message for %s", et)
		}
	}
}

func TestMessageXSD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found: run scripts/install-test-tools (Debian libxml2-utils)")
	}
	dir := t.TempDir()
	var files []string
	for _, tc := range messageCases() {
		for _, side := range []Side{SideA, SideB} {
			e := tc.event
			e.Side = side
			b, err := Message(e)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, tc.name+map[Side]string{SideA: "_A", SideB: "_B"}[side]+".xml")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	xsd := testutil.Shared(t, "reference", "wire", "audit-samples", "xsd", "DICOM_Unsigned.xsd")
	out, err := exec.Command(xmllint, append([]string{"--noout", "--nonet", "--schema", xsd}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// shape is what the structural comparison looks at: element paths, event
// codes, participant roles and participant object kinds. Values that depend
// on data (ids, names, times, addresses) are left out.
type shape struct {
	paths        map[string]bool
	event        []string // action, EventID, EventTypeCode
	participants map[string]bool
	objects      map[string]bool
}

func shapeOf(t *testing.T, b []byte) shape {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	s := shape{paths: map[string]bool{}, participants: map[string]bool{}, objects: map[string]bool{}}
	var walk func(e *etree.Element, prefix string)
	walk = func(e *etree.Element, prefix string) {
		p := prefix + "/" + e.Tag
		if e.Tag == "Signature" {
			return
		}
		s.paths[p] = true
		for _, c := range e.ChildElements() {
			walk(c, p)
		}
	}
	walk(root, "")
	ei := root.SelectElement("EventIdentification")
	id, typ := ei.SelectElement("EventID"), ei.SelectElement("EventTypeCode")
	s.event = []string{
		"action=" + ei.SelectAttrValue("EventActionCode", ""),
		"EventID=" + id.SelectAttrValue("csd-code", "") + "|" + id.SelectAttrValue("codeSystemName", "") + "|" + id.SelectAttrValue("originalText", "") + "|" + id.SelectAttrValue("displayName", ""),
		"EventTypeCode=" + typ.SelectAttrValue("csd-code", "") + "|" + typ.SelectAttrValue("codeSystemName", "") + "|" + typ.SelectAttrValue("displayName", "") + "|" + typ.SelectAttrValue("originalText", ""),
	}
	for _, ap := range root.SelectElements("ActiveParticipant") {
		r := ap.SelectElement("RoleIDCode")
		s.participants[r.SelectAttrValue("csd-code", "")+"|"+r.SelectAttrValue("codeSystemName", "")+"|requestor="+ap.SelectAttrValue("UserIsRequestor", "")] = true
	}
	for _, po := range root.SelectElements("ParticipantObjectIdentification") {
		c := po.SelectElement("ParticipantObjectIDTypeCode")
		key := "type=" + po.SelectAttrValue("ParticipantObjectTypeCode", "") +
			" role=" + po.SelectAttrValue("ParticipantObjectTypeCodeRole", "") +
			" life=" + po.SelectAttrValue("ParticipantObjectDataLifeCycle", "") +
			" code=" + c.SelectAttrValue("csd-code", "")
		if po.SelectAttrValue("ParticipantObjectTypeCode", "") != "1" {
			// Patient objects: OpenNCP's samples disagree on the code system
			// (DCM in the 2024-06 capture, RFC-3881 in the later fixtures).
			key += "|" + c.SelectAttrValue("codeSystemName", "")
		}
		s.objects[key] = true
	}
	return s
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMessageMatchesOpenNCPSamples(t *testing.T) {
	// What luxncp adds beyond the unit-test samples: the error object and
	// its detail (samples are all successes), and the request/response
	// message objects OpenNCP adds at send time (addNonRepudiationSection).
	extraObjects := map[string]bool{
		"type=2 role=3 life= code=9|eHealth DSI Security": true,
		"type=4 role= life= code=req|eHealth DSI Msg":     true,
		"type=4 role= life= code=rsp|eHealth DSI Msg":     true,
	}
	extraPaths := map[string]bool{"/AuditMessage/ParticipantObjectIdentification/ParticipantObjectDetail": true}
	for _, tc := range messageCases() {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.event
			e.Side = tc.sampleSide
			got, err := Message(e)
			if err != nil {
				t.Fatal(err)
			}
			sample, err := os.ReadFile(testutil.Shared(t, "reference", "wire", "audit-samples", tc.sample))
			if err != nil {
				t.Fatal(err)
			}
			g, w := shapeOf(t, got), shapeOf(t, sample)
			// The PS sample stands for eP and OrCD too: their transaction
			// names (OpenNCP TransactionName) differ.
			w.event[2] = strings.Replace(w.event[2], "PatientService::", strings.SplitN(events[e.Type].txName, "::", 2)[0]+"::", 1)
			if e.Type == EventSMPPush {
				for i := range w.event {
					w.event[i] = strings.ReplaceAll(strings.ReplaceAll(w.event[i], "EHDSI-193", "EHDSI-194"), "SMP::Query", "SMP::Push")
				}
			}
			if strings.Join(g.event, "\n") != strings.Join(w.event, "\n") {
				t.Errorf("event identification:\n got  %q\n want %q", g.event, w.event)
			}
			for _, k := range keys(w.paths) {
				if !g.paths[k] {
					t.Errorf("element %s missing", k)
				}
			}
			for _, k := range keys(g.paths) {
				if !w.paths[k] && !extraPaths[k] {
					t.Errorf("element %s not in the sample", k)
				}
			}
			if a, b := keys(g.participants), keys(w.participants); strings.Join(a, ",") != strings.Join(b, ",") {
				t.Errorf("active participants:\n got  %q\n want %q", a, b)
			}
			for _, k := range keys(w.objects) {
				if !g.objects[k] {
					t.Errorf("participant object %q missing", k)
				}
			}
			for _, k := range keys(g.objects) {
				if !w.objects[k] && !extraObjects[k] {
					t.Errorf("participant object %q not in the sample", k)
				}
			}
		})
	}
}

func TestMessageInvalid(t *testing.T) {
	ok := baseEvent(EventPSList)
	tests := []struct {
		name string
		mod  func(*Event)
	}{
		{"unknown type", func(e *Event) { e.Type = "EHDSI-99" }},
		{"bad outcome", func(e *Event) { e.Outcome = 3 }},
		{"no time", func(e *Event) { e.Time = time.Time{} }},
		{"no audit source", func(e *Event) { e.AuditSourceID = "" }},
		{"failure without code", func(e *Event) { e.Outcome = OutcomeSeriousFailure }},
	}
	if _, err := Message(ok); err != nil {
		t.Fatalf("valid event: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.mod(&e)
			if _, err := Message(e); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSetOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Outcome
		code string
	}{
		{"success", nil, OutcomeSuccess, ""},
		{"warning", ehdsi.App(ehdsi.WarnPINoConsent, "", nil), OutcomeSuccess, string(ehdsi.WarnPINoConsent)},
		{"application", ehdsi.App(ehdsi.ErrPINoMatch, "no match", nil), OutcomeMinorFailure, string(ehdsi.ErrPINoMatch)},
		{"sender", ehdsi.Sender(ehdsi.ErrHPIInsufficientInformation, "denied", nil), OutcomeSeriousFailure, string(ehdsi.ErrHPIInsufficientInformation)},
		{"plain error", os.ErrNotExist, OutcomeSeriousFailure, string(ehdsi.ErrGeneric)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Event
			e.SetOutcome(tc.err)
			if e.Outcome != tc.want || e.ErrorCode != tc.code {
				t.Fatalf("got %v %q, want %v %q", e.Outcome, e.ErrorCode, tc.want, tc.code)
			}
			if tc.err != nil && strings.Contains(e.ErrorText, "file does not exist") {
				t.Fatalf("private cause leaked into the audit: %q", e.ErrorText)
			}
		})
	}
}

func BenchmarkMessage(b *testing.B) {
	e := messageCases()[2].event
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Message(e); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDispensationActionCodes: OpenNCP audits eDispensation submit and
// discard with EventActionCode "C" on Country A and "R" on Country B.
func TestDispensationActionCodes(t *testing.T) {
	for _, tc := range messageCases() {
		if tc.event.Type != EventDispensationSubmit && tc.event.Type != EventDispensationDiscard {
			continue
		}
		for side, want := range map[Side]string{SideA: "C", SideB: "R"} {
			e := tc.event
			e.Side = side
			b, err := Message(e)
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(b); err != nil {
				t.Fatal(err)
			}
			if got := doc.Root().SelectElement("EventIdentification").SelectAttrValue("EventActionCode", ""); got != want {
				t.Errorf("%s side %v: action %q, want %q", tc.name, side, got, want)
			}
		}
	}
}

// TestPrepareKeepsMessage: the record's message (serialised through a
// reused buffer) is Message's bytes, for every kind of event, one after
// another (a buffer reused with stale bytes would show).
func TestPrepareKeepsMessage(t *testing.T) {
	r := &Recorder{}
	for _, tc := range messageCases() {
		for _, side := range []Side{SideA, SideB} {
			e := tc.event
			e.Side = side
			rec, err := r.Prepare(e)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Message(rec.Event)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Message != string(want) {
				t.Fatalf("%s: Prepare's message differs from Message:\n%s\nwant\n%s", tc.name, rec.Message, want)
			}
		}
	}
}
