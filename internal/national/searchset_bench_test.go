package national

import (
	"testing"

	"github.com/luxncp/luxncp/internal/national/fhirr4"
)

// consentSearchset is the demo backend's Consent search answer for a
// patient with one cross-border consent (822 bytes).
var consentSearchset = []byte(`{"resourceType":"Bundle","type":"searchset","total":1,"link":[{"relation":"self","url":"http://example.com/fhir/Consent?patient.identifier=urn:oid:1.3.182.4.4|1971011007114"}],"entry":[{"fullUrl":"http://example.com/fhir/Consent/c-p08-1","resource":{"resourceType":"Consent","id":"c-p08-1","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy","display":"Privacy Consent"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0","display":"Patient Consent"}]}],"patient":{"reference":"Patient/p08"},"dateTime":"2024-03-25T10:00:00Z","policyRule":{"coding":[{"system":"urn:luxncp:fhir:consent-policy","code":"myhealth-eu","display":"Cross-border sharing through MyHealth@EU"}]},"provision":{"type":"permit"}},"search":{"mode":"match"}}]}`)

// BenchmarkConsentSearchset: one-pass (what the Client does) against the
// reference decode (raw entries, header, resource) of a Consent search.
func BenchmarkConsentSearchset(b *testing.B) {
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseSearchsetAs(consentSearchset, "Consent", func(c *fhirr4.Consent) string { return c.ResourceType }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeSearchset[fhirr4.Consent](consentSearchset, "Consent"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
