package countryb

import (
	"testing"

	"github.com/beevik/etree"
)

func FuzzParseXCPD(f *testing.F) {
	f.Add([]byte(`<PRPA_IN201306UV02 xmlns="urn:hl7-org:v3"><controlActProcess><subject><registrationEvent><subject1><patient><id root="1.2" extension="9"/><patientPerson><name><given>A</given><family>B</family></name><birthTime value="19700101"/></patientPerson></patient></subject1></registrationEvent></subject></controlActProcess></PRPA_IN201306UV02>`))
	f.Add([]byte(`<PRPA_IN201306UV02 xmlns="urn:hl7-org:v3"><acknowledgement><acknowledgementDetail><code code="ERROR_PI_NO_MATCH"/><text>none</text></acknowledgementDetail></acknowledgement></PRPA_IN201306UV02>`))
	f.Add([]byte(`<x/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			return
		}
		ps, fault := parseXCPD(doc.Root())
		for _, p := range ps {
			if p.ID.Extension == "" {
				t.Fatal("patient without id")
			}
		}
		_ = fault
	})
}
