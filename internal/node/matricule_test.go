package node_test

import (
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
)

// TestXCPDCheckDigitSixToNine identifies, over mutual TLS against the demo
// national record, patients whose Verhoeff check digit is 6, 7, 8 and 9 —
// the digits an inverted table (…5, 9, 8, 7, 6) got wrong — and checks that
// the mirrored digit, which such a table expected, is refused as malformed.
func TestXCPDCheckDigitSixToNine(t *testing.T) {
	g := start(t)
	ph := newPharmacist(t, "be", "physician")
	for _, p := range []struct{ matricule, mirrored, family string }{
		{"1983030506626", "1983030506629", "DUBOIS"},  // p07
		{"1944093024127", "1944093024128", "SIMON"},   // p31
		{"1989070723778", "1989070723777", "PEETERS"}, // p30
		{"1950071705239", "1950071705236", "BECKER"},  // p06
	} {
		t.Run(p.matricule, func(t *testing.T) {
			xcpd := func(id string) (code, ack, family, ext string) {
				rep := ph.call(g.url+ehdsi.PathXCPD, ehdsi.ActionXCPD, ncpclient.XCPDBody(ncpclient.XCPDQuery{
					SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: id, PatientRoot: ehdsi.OIDMatricule}), false, ph.hcp)
				b := rep.Env.Body
				if e := b.FindElement(".//queryAck/queryResponseCode"); e != nil {
					code = e.SelectAttrValue("code", "")
				}
				if e := b.FindElement(".//acknowledgementDetail/code"); e != nil {
					ack = e.SelectAttrValue("code", "")
				}
				if e := b.FindElement(".//subject1/patient/patientPerson/name/family"); e != nil {
					family = strings.TrimSpace(e.Text())
				}
				if e := b.FindElement(".//subject1/patient/id[@root='" + ehdsi.OIDMatricule + "']"); e != nil {
					ext = e.SelectAttrValue("extension", "")
				}
				return code, ack, family, ext
			}
			if code, ack, family, ext := xcpd(p.matricule); code != "OK" || !strings.EqualFold(family, p.family) || ext != p.matricule {
				t.Errorf("XCPD %s: queryResponseCode %q (%s), patient %q %q; want OK, %s", p.matricule, code, ack, ext, family, p.family)
			}
			if code, ack, _, ext := xcpd(p.mirrored); code != "AE" || ack != string(ehdsi.ErrPIIncorrectFormatting) || ext != "" {
				t.Errorf("XCPD %s: queryResponseCode %q (%s), patient %q; want AE %s", p.mirrored, code, ack, ext, ehdsi.ErrPIIncorrectFormatting)
			}
		})
	}
}
