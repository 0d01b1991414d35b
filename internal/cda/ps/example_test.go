package ps_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/luxncp/luxncp/internal/cda/ps"
	"github.com/luxncp/luxncp/internal/terminology"
)

// A national CDA Patient Summary becomes the eHDSI pivot document (L3) and
// its PDF-embedded variant (L1); both ids derive from the national content.
func Example() {
	data, err := os.ReadFile("../../national/demo/data/ps/1960061226304.xml")
	if err != nil {
		panic(err)
	}
	s, err := ps.ReadLUCDA(data, ps.Limits{})
	if err != nil {
		panic(err)
	}
	cat, err := terminology.Load()
	if err != nil {
		panic(err)
	}
	l3, err := ps.Build(s, ps.Options{Terminology: cat})
	if err != nil {
		panic(err)
	}
	l1, err := ps.BuildL1(s, ps.Options{Terminology: cat})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.AllergiesAbsent, s.MedicationsAbs, s.ProblemsAbsent)
	fmt.Println(strings.HasSuffix(l3.ID.Extension, ".L3"), strings.HasSuffix(l1.ID.Extension, ".L1"), l3.Hash == l1.Hash)
	// Output:
	// no-known-allergies no-known-medications no-known-problems
	// true true true
}
