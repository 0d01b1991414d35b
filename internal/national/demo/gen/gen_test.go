package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/luxncp/luxncp/internal/matricule"
)

// TestUpToDate fails when data/patients.json or data/README.md differ from
// what gen writes (run: go run ./internal/national/demo/gen).
func TestUpToDate(t *testing.T) {
	files, err := render()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "data", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("data/%s is out of date: run go run ./internal/national/demo/gen", name)
		}
	}
}

func TestPopulation(t *testing.T) {
	if len(people) < 30 {
		t.Fatalf("%d patients, want ≥ 30", len(people))
	}
	count := map[string]int{}
	countries := map[string]int{}
	for _, p := range people {
		m, l := p.ids()
		if m != "" {
			if err := matricule.Validate(m); err != nil || len(m) != 13 {
				t.Errorf("%s: %s: %v", p.ID, m, err)
			}
		}
		if l != "" {
			if err := matricule.Validate(l); err != nil || len(l) != 11 {
				t.Errorf("%s: %s: %v", p.ID, l, err)
			}
			if odd := (l[9]-'0')%2 == 1; odd != (p.Gender == "male") {
				t.Errorf("%s: legacy order number parity does not match gender", p.ID)
			}
		}
		if m == "" {
			count["legacy only"]++
		}
		if p.Consent == "withdrawn" {
			count["withdrawn"]++
		}
		countries[p.Country]++
	}
	if count["legacy only"] < 3 || count["withdrawn"] < 3 {
		t.Errorf("counts %v", count)
	}
	for _, c := range []string{"LU", "FR", "BE", "DE"} {
		if countries[c] < 3 {
			t.Errorf("only %d residents of %s", countries[c], c)
		}
	}
	if _, err := render(); err != nil {
		t.Fatal(err)
	}
}
