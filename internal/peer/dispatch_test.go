package peer

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

func submissionEnv(t *testing.T, body *etree.Element) *soap.Envelope {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(body)
	b, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	env, err := soap.ParseEnvelope([]byte(`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header><wsa:Action>urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID></env:Header><env:Body>`+b+`</env:Body></env:Envelope>`), soap.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestSubmissionKindIsFormatCode: like OpenNCP's Country A, the simulated
// peer tells a dispensation from a discard by the formatCode, exactly; the
// lower-case code luxncp's Country B used to send is an unknown document.
func TestSubmissionKindIsFormatCode(t *testing.T) {
	sub := func(discard bool) *etree.Element {
		return ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: discard, Patient: wssec.PatientID{Extension: "1", Root: "2.999"},
			DocumentUID: "1.2^3", SubmissionSetID: "1.2.4", SourceID: "1.2.5", Document: []byte("<ClinicalDocument/>"), Now: time.Unix(0, 0)})
	}
	for discard, want := range map[bool]dialect.EDKind{false: dialect.EDDispense, true: dialect.EDDiscard} {
		s, err := ParseSubmission(submissionEnv(t, sub(discard)))
		if err != nil || s.Kind() != want {
			t.Errorf("discard %v: kind %d, %v", discard, s.Kind(), err)
		}
	}
	old := sub(false)
	for _, c := range old.FindElements(".//Classification") {
		if c.SelectAttrValue("nodeRepresentation", "") == dialect.FormatEDDispense {
			c.CreateAttr("nodeRepresentation", strings.ToLower(dialect.FormatEDDispense))
		}
	}
	if s, err := ParseSubmission(submissionEnv(t, old)); err != nil || s.Kind() != dialect.EDUnknown {
		t.Errorf("lower-case formatCode: kind %d, %v", s.Kind(), err)
	}
}
