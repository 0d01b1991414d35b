package national_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
)

// The Client against the demo backend: find a patient by a legacy 11-digit
// matricule, then read the cross-border consent.
func ExampleClient() {
	backend, err := demo.New("") // embedded fixtures, dispensations in memory
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(backend)
	defer srv.Close()
	c, err := national.NewClient(srv.URL + "/fhir")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ps, err := c.FindPatients(ctx, national.PatientQuery{Matricule: "19580412125"})
	if err != nil {
		panic(err)
	}
	fmt.Println(ps[0].Matricule, ps[0].Given[0], ps[0].Family, ps[0].Address.City)
	consent, err := c.Consent(ctx, "1977021815655")
	fmt.Println(consent.CrossBorder, err)
	// Output:
	// 1958041200856 Marie Schmit Esch-sur-Alzette
	// false <nil>
}
