package ps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seeds(f *testing.F, ext string) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir(f), "*"+ext))
	for i, p := range files {
		if i >= 4 {
			break
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzReadLUCDA: the national CDA reader never panics or hangs, whatever the input.
func FuzzReadLUCDA(f *testing.F) {
	seeds(f, ".xml")
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><templateId root="1.3.182.11.10"/><effectiveTime value="20250101"/></ClinicalDocument>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>`))
	f.Add([]byte(strings.Repeat("<a>", 80)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadLUCDA(b, Limits{MaxBytes: 1 << 20})
		if err == nil && len(s.Patient.IDs) == 0 {
			t.Fatal("summary without patient id accepted")
		}
	})
}

// FuzzReadFHIR: the FHIR reader never panics or hangs, whatever the input.
func FuzzReadFHIR(f *testing.F) {
	seeds(f, ".json")
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Composition","date":"2025-01-01"}}]}`))
	f.Add([]byte(strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadFHIR(b, Limits{MaxBytes: 1 << 20})
		if err == nil && len(s.Patient.IDs) == 0 {
			t.Fatal("summary without patient id accepted")
		}
	})
}
