package cda_test

import (
	"fmt"
	"os"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
)

// Summarize tells the XCA list which prescriptions to offer and why the
// others are not.
func ExampleSummarize() {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"ep-0001", "ep-0009", "ep-0010"} {
		b, err := os.ReadFile("../national/demo/data/eprescriptions/" + id + ".json")
		if err != nil {
			fmt.Println(err)
			return
		}
		s, err := cda.Summarize(b, now, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %s dispensable=%v", s.ID.Extension, s.Description, s.Dispensable)
		if !s.Dispensable {
			fmt.Print(" ", s.Why())
		}
		fmt.Println()
	}
	// Output:
	// ep-0001 Prednisolone Synth 20 mg comprimés dispensable=true
	// ep-0009 Ramipril Synth 5 mg comprimés dispensable=false the validity period of the prescription has ended
	// ep-0010 Sertraline Synth 50 mg comprimés pelliculés dispensable=false the prescription was cancelled by the prescriber
}
