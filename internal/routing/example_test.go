package routing_test

import (
	"context"
	"fmt"

	"github.com/luxncp/luxncp/internal/routing"
)

// A directory document lists, per country, the SMP participant and one
// endpoint (URL and pinned TLS certificate) per transaction.
func ExampleParse() {
	dir, err := routing.Parse([]byte(`{"version": 1, "countries": []}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = dir.Lookup(context.Background(), "FR")
	fmt.Println(err)
	fmt.Println(routing.Participant("FR"), routing.ITI55.DocumentID())
	// Output:
	// routing FR: unknown-country: no national contact point is known for country "FR"
	// urn:ehealth:fr:ncp-idp urn:ehealth:PatientIdentificationAndAuthentication::XCPD::CrossGatewayPatientDiscovery##ITI-55
}
