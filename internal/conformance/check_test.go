package conformance

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
)

const cdaOK = `<?xml version="1.0"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.1.1"/>
  <id root="1.2.3" extension="ep-0001.L3"/>
  <code code="57833-6" codeSystem="2.16.840.1.113883.6.1"/>
  <languageCode code="fr-LU"/>
  <recordTarget><patientRole><id root="1.3.182.4.4" extension="1983030506626"/></patientRole></recordTarget>
  <component><structuredBody/></component>
</ClinicalDocument>`

var cdaCases = []struct {
	name      string
	doc       string
	patient   string
	templates []string
	want      string // substring of the first problem; "" for none
}{
	{"valid L3", cdaOK, "1983030506626", []string{ehdsi.TemplateEP}, ""},
	{"other template wanted", cdaOK, "1983030506626", []string{ehdsi.TemplatePS}, "expected one of"},
	{"other patient", cdaOK, "1958041200856", nil, "do not include the requested patient"},
	{"not XML", "%PDF-1.7", "", nil, "not XML"},
	{"not well-formed", "<ClinicalDocument", "", nil, "well-formed"},
	{"wrong root", `<Bundle xmlns="http://hl7.org/fhir"/>`, "", nil, "not hl7:ClinicalDocument"},
	{"no namespace", `<ClinicalDocument/>`, "", nil, "not hl7:ClinicalDocument"},
	{"no template", strings.Replace(cdaOK, `<templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.1.1"/>`, "", 1), "", nil, "no eHDSI document templateId"},
	{"no language", strings.Replace(cdaOK, `<languageCode code="fr-LU"/>`, "", 1), "", nil, "languageCode"},
	{"no id", strings.Replace(cdaOK, `<id root="1.2.3" extension="ep-0001.L3"/>`, "", 1), "", nil, "ClinicalDocument/id"},
	{"no body", strings.Replace(cdaOK, `<component><structuredBody/></component>`, "", 1), "", nil, "no structuredBody"},
	{"L1 PDF", strings.Replace(cdaOK, `<structuredBody/>`, `<nonXMLBody><text mediaType="application/pdf" representation="B64">JVBE</text></nonXMLBody>`, 1), "", nil, ""},
	{"L1 not PDF", strings.Replace(cdaOK, `<structuredBody/>`, `<nonXMLBody><text mediaType="text/plain">x</text></nonXMLBody>`, 1), "", nil, "mediaType"},
}

func TestCheckCDA(t *testing.T) {
	for _, tc := range cdaCases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := CheckCDA([]byte(tc.doc), tc.patient, tc.templates)
			if tc.want == "" {
				if len(probs) > 0 {
					t.Fatalf("problems %v, want none", probs)
				}
				return
			}
			if len(probs) == 0 || !strings.Contains(strings.Join(probs, "; "), tc.want) {
				t.Fatalf("problems %v, want one containing %q", probs, tc.want)
			}
		})
	}
}

func FuzzCheckCDA(f *testing.F) {
	for _, tc := range cdaCases {
		f.Add([]byte(tc.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = CheckCDA(data, "1", nil)
	})
}

func TestCheckOutcome(t *testing.T) {
	fault := &ehdsi.Fault{Kind: ehdsi.KindSender, Code: "1001"}
	for _, tc := range []struct {
		name   string
		e      Expect
		status int
		o      observed
		ok     bool
	}{
		{"success", Expect{Outcome: OutcomeSuccess}, 200, observed{found: 1}, true},
		{"success but fault", Expect{Outcome: OutcomeSuccess}, 400, observed{fault: fault, codes: []string{"1001"}}, false},
		{"success but error code", Expect{Outcome: OutcomeSuccess}, 200, observed{codes: []string{"X"}, errorSeen: true}, false},
		{"fault with listed code", Expect{Outcome: OutcomeFault, Codes: []string{"1001"}}, 400, observed{fault: fault, codes: []string{"1001"}}, true},
		{"fault with other code", Expect{Outcome: OutcomeFault, Codes: []string{"4703"}}, 400, observed{fault: fault, codes: []string{"1001"}}, false},
		{"fault with HTTP 200", Expect{Outcome: OutcomeFault}, 200, observed{fault: fault, codes: []string{"1001"}}, false},
		{"fault expected, none", Expect{Outcome: OutcomeFault}, 200, observed{}, false},
		{"error in body", Expect{Outcome: OutcomeError, Codes: []string{"E1"}}, 200, observed{codes: []string{"E1"}, errorSeen: true}, true},
		{"error as fault", Expect{Outcome: OutcomeError, Codes: []string{"1001"}}, 400, observed{fault: fault, codes: []string{"1001"}}, false},
		{"refused by fault", Expect{Outcome: OutcomeRefused, Codes: []string{"1001"}}, 400, observed{fault: fault, codes: []string{"1001"}}, true},
		{"refused by warning, nothing found", Expect{Outcome: OutcomeRefused, Codes: []string{"W"}}, 200, observed{codes: []string{"W"}}, true},
		{"warning but data returned", Expect{Outcome: OutcomeRefused, Codes: []string{"W"}}, 200, observed{codes: []string{"W"}, found: 1}, false},
		{"not refused", Expect{Outcome: OutcomeRefused, Codes: []string{"W"}}, 200, observed{found: 2}, false},
		{"empty", Expect{Outcome: OutcomeEmpty, Codes: []string{"NF"}}, 200, observed{codes: []string{"NF"}, errorSeen: true}, true},
		{"empty with other code", Expect{Outcome: OutcomeEmpty, Codes: []string{"NF"}}, 200, observed{codes: []string{"X"}}, false},
		{"empty but found", Expect{Outcome: OutcomeEmpty}, 200, observed{found: 1}, false},
		{"listed HTTP", Expect{Outcome: OutcomeFault, HTTP: []int{413}}, 413, observed{fault: fault, codes: []string{"1001"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := checkOutcome(tc.e, tc.status, &tc.o)
			if ok := len(bad) == 0; ok != tc.ok {
				t.Fatalf("ok = %v (%v), want %v", ok, bad, tc.ok)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	s := excerpt([]byte(strings.Repeat("é", 100)), 51)
	if !strings.Contains(s, "more bytes not shown") || !strings.HasPrefix(s, "éé") || strings.Contains(s, "\uFFFD") {
		t.Errorf("excerpt cut badly: %q", s)
	}
	if got := excerpt([]byte("short"), 10); got != "short" {
		t.Errorf("excerpt(short) = %q", got)
	}
}

// TestNothingListeningIsNoRefusal: a case that accepts a hung-up connection
// (an oversized body) must not pass against a target that is not there.
func TestNothingListeningIsNoRefusal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = http.Post("http://"+addr+"/", "text/plain", strings.NewReader("x"))
	if err == nil || cutByTarget(err) {
		t.Fatalf("connection refused counted as a refusal by the target: %v", err)
	}
	if _, err = http.Post("ftp://"+addr+"/", "text/plain", strings.NewReader("x")); err == nil || cutByTarget(err) {
		t.Fatalf("unsupported scheme counted as a refusal: %v", err)
	}
	// A target that accepts and hangs up does refuse.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
	}()
	if _, err = http.Post("http://"+ln.Addr().String()+"/", "text/plain", strings.NewReader("x")); err == nil || !cutByTarget(err) {
		t.Fatalf("a hang-up is a refusal: %v", err)
	}
}

// TestDispensationPicksAnOpenPrescription: a target lists closed
// ePrescriptions too (OpenNCP's closed flag, to be read); the eD cases
// dispense the first open one, and any first L3 from a target that writes
// no flag.
func TestDispensationPicksAnOpenPrescription(t *testing.T) {
	docs := []ncpclient.ListedDocument{{UniqueID: "closed.L3"}, {UniqueID: "closed.L1", L1: true},
		{UniqueID: "open.L3", Dispensable: true}, {UniqueID: "open.L1", L1: true, Dispensable: true}}
	refs, err := selectDocs(dispensable(docs), "first-l3", "1.2.3")
	if err != nil || len(refs) != 1 || refs[0].DocumentUniqueID != "open.L3" {
		t.Errorf("with flags: %+v %v, want open.L3", refs, err)
	}
	refs, err = selectDocs(dispensable(docs[:2]), "first-l3", "1.2.3")
	if err != nil || len(refs) != 1 || refs[0].DocumentUniqueID != "closed.L3" {
		t.Errorf("without flags: %+v %v, want closed.L3", refs, err)
	}
}
