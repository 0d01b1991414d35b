package routing

import (
	"testing"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/testkit"
)

func FuzzVerifyDocument(f *testing.F) {
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</title></ClinicalDocument>`))
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></ClinicalDocument>`))
	f.Add([]byte(`<a><b/></a`))
	trust := testkit.Trust(f)
	now := clock.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		signed, err := VerifyDocument(b, trust, "FR", now)
		if signed && err == nil {
			t.Fatal("a fuzzed document verified")
		}
	})
}
