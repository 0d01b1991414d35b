package wssec

import (
	"testing"

	"github.com/beevik/etree"
)

// FuzzVerifyHCP feeds arbitrary XML to the assertion verifier: errors are
// expected, panics and hangs are not. Seeds: a valid signed assertion and
// mutations of it.
func FuzzVerifyHCP(f *testing.F) {
	a, err := IssueHCP(hcpParams(), seal(f, "fr"))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := Serialize(a)
	f.Add(good)
	f.Add([]byte(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0"/>`))
	f.Add([]byte(`<x/>`))
	v := verifier(f, t0)
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil {
			return
		}
		hcp, trc, _ := FindAssertions(doc.Root())
		_ = trc
		if hcp == nil {
			hcp = doc.Root()
		}
		c, err := v.VerifyHCP(hcp)
		if err == nil && c == nil {
			t.Fatal("nil caller without error")
		}
		if err == nil {
			if _, err := v.VerifyTRC(hcp, c); err == nil {
				t.Fatal("an HCP assertion verified as a TRC assertion")
			}
		}
	})
}
