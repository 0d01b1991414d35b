package conformance_test

import (
	"fmt"

	"github.com/luxncp/luxncp/internal/conformance"
)

func ExampleParseCase() {
	c, err := conformance.ParseCase([]byte(`{
  "name": "01-hcp-expired",
  "description": "An HCP assertion that expired two hours ago.",
  "transaction": "xcpd",
  "request": {"patient": "ep"},
  "assertion": {"hcp": {"issued": "-3h", "validFor": "1h"}},
  "expect": {"outcome": "fault", "codes": ["1001"]}
}`), "security")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.ID(), c.Transaction, c.Expect.Outcome, c.Expect.Codes, c.PatientKeys())
	// Output: security/01-hcp-expired xcpd fault [1001] [ep]
}
