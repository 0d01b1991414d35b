package fhirr4

import (
	"encoding/json"
	"testing"
)

func TestPatientRoundTrip(t *testing.T) {
	in := `{"resourceType":"Patient","id":"p1","identifier":[{"use":"official","system":"urn:oid:1.3.182.4.4","value":"1990010112385"}],"name":[{"family":"Peters","given":["Natasha-Caroline"]}],"gender":"female","birthDate":"1990-01-01"}`
	var p Patient
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Fatalf("round trip changed the document:\n%s\n%s", out, in)
	}
}

func TestHasCode(t *testing.T) {
	c := &CodeableConcept{Coding: []Coding{{System: "http://loinc.org", Code: "60591-5"}}}
	for _, tt := range []struct {
		c            *CodeableConcept
		system, code string
		want         bool
	}{
		{c, "http://loinc.org", "60591-5", true},
		{c, "http://loinc.org", "57833-6", false},
		{c, "urn:x", "60591-5", false},
		{nil, "http://loinc.org", "60591-5", false},
	} {
		if got := tt.c.HasCode(tt.system, tt.code); got != tt.want {
			t.Errorf("HasCode(%s, %s) = %v", tt.system, tt.code, got)
		}
	}
}
