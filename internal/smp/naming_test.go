package smp

import "testing"

// The eDelivery BDMSL's own test vectors (HashUtilTest): the SML names
// other implementations compute for the same participant.
func TestSMLNamesMatchTheEDeliveryVectors(t *testing.T) {
	if got := NAPTRHost("urn:poland:ncpb", "s", "z"); got != "DALXFO3CDYE5ZSLF5WAVCYQ3XGERI6ONUBJU5WAH3T77THFWCGEQ.s.z" {
		t.Errorf("NAPTR name %s", got)
	}
	if got := CNAMEHost("urn:poland:ncpb", "s", "z."); got != "B-adb4c6d3821d142c684b13ed269fad65.s.z" {
		t.Errorf("CNAME name %s", got)
	}
	// Case does not matter: the SML lower-cases the identifier.
	if NAPTRHost("URN:EHEALTH:FR:NCP-IDP", ParticipantScheme, "z") != NAPTRHost(Participant("fr"), ParticipantScheme, "z") {
		t.Error("participant id case changes the name")
	}
}
