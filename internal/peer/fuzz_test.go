package peer

import (
	"testing"

	"github.com/luxncp/luxncp/internal/soap"
)

func FuzzParseSubmission(f *testing.F) {
	env := func(body string) []byte {
		return []byte(`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header><wsa:Action>urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID></env:Header><env:Body>` + body + `</env:Body></env:Envelope>`)
	}
	f.Add(env(`<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ExtrinsicObject id="Document01" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"><rim:Classification classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" nodeRepresentation="60593-1"/><rim:ExternalIdentifier identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="1.2.3"/></rim:ExtrinsicObject><xdsb:Document id="Document01">PENsaW5pY2FsRG9jdW1lbnQvPg==</xdsb:Document></xdsb:ProvideAndRegisterDocumentSetRequest>`))
	f.Add(env(`<x/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := soap.ParseEnvelope(b, soap.Limits{})
		if err != nil {
			return
		}
		s, err := ParseSubmission(e)
		if err == nil && (s.DocumentID == "" || len(s.Document) == 0) {
			t.Fatal("accepted a submission without document")
		}
	})
}
