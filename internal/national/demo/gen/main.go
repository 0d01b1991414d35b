// Command gen writes the demo national record's patient fixtures,
// internal/national/demo/data/patients.json (a FHIR R4 collection Bundle of
// Patient and Consent resources) and data/README.md, from the table in
// patients.go. Same table, same bytes:
//
//	go run ./internal/national/demo/gen            # from the repository root
//	go run ./internal/national/demo/gen -dir DIR
//
// TestUpToDate fails when the committed files differ from what gen writes.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/matricule"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/fhirr4"
)

func main() {
	dir := flag.String("dir", filepath.Join("internal", "national", "demo", "data"), "data directory to write")
	flag.Parse()
	files, err := render()
	if err != nil {
		log.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*dir, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// render returns file name → content.
func render() (map[string][]byte, error) {
	bundle, err := patientsBundle()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"patients.json": bundle, "README.md": readme()}, nil
}

// ids returns the 13-digit and legacy 11-digit matricules of p ("" when none).
func (p person) ids() (modern, legacy string) {
	if p.Seq >= 0 {
		prefix := p.Birth
		if p.Prefix != "" {
			prefix = p.Prefix
		}
		modern = matricule.Generate(prefix, p.Seq)
	}
	if p.Legacy >= 0 {
		legacy = matricule.GenerateLegacy(p.Birth, p.Legacy)
	}
	return modern, legacy
}

// key is the id fixtures are filed under: the 13-digit matricule, or the
// legacy one for patients known only by it.
func (p person) key() string {
	m, l := p.ids()
	if m != "" {
		return m
	}
	return l
}

func (p person) birthDate() string {
	d, ok := matricule.BirthDateOf(p.Birth)
	if !ok {
		panic("bad birth date for " + p.ID)
	}
	return d
}

func countryName(c string) string {
	return map[string]string{"LU": "Luxembourg", "FR": "France", "BE": "Belgium", "DE": "Germany"}[c]
}

func patientsBundle() ([]byte, error) {
	b := fhirr4.Bundle{ResourceType: "Bundle", ID: "lu-demo-patients", Type: "collection", Timestamp: "2026-01-15T09:00:00Z"}
	add := func(v any) error {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhirr4.BundleEntry{Resource: raw})
		return nil
	}
	seen := map[string]string{}
	for _, p := range people {
		modern, legacy := p.ids()
		var ids []fhirr4.Identifier
		if modern != "" {
			ids = append(ids, fhirr4.Identifier{Use: "official", System: national.SystemMatricule, Value: modern})
		}
		if legacy != "" {
			ids = append(ids, fhirr4.Identifier{Use: "old", System: national.SystemMatricule, Value: legacy})
		}
		for _, id := range ids {
			if other, dup := seen[id.Value]; dup {
				return nil, fmt.Errorf("%s and %s share the matricule %s", other, p.ID, id.Value)
			}
			seen[id.Value] = p.ID
		}
		if p.DSP != "" {
			ids = append(ids, fhirr4.Identifier{Use: "secondary", System: "urn:oid:1.3.182.2.4.2", Value: p.DSP})
		}
		active := true
		tel := []fhirr4.ContactPoint{{System: "phone", Value: p.Phone, Use: "home"}}
		if p.Email != "" {
			tel = append(tel, fhirr4.ContactPoint{System: "email", Value: p.Email, Use: "home"})
		}
		pat := fhirr4.Patient{
			ResourceType: "Patient", ID: p.ID, Identifier: ids, Active: &active,
			Name:      []fhirr4.HumanName{{Use: "official", Family: p.Family, Given: p.Given}},
			Telecom:   tel,
			Gender:    p.Gender,
			BirthDate: p.birthDate(),
			Address:   []fhirr4.Address{{Use: "home", Line: []string{p.Line}, City: p.City, PostalCode: p.Postal, Country: p.Country}},
		}
		if err := add(pat); err != nil {
			return nil, err
		}
		for _, c := range consents(p) {
			if err := add(c); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// consents returns the Consent history of p: a permit recorded at
// registration, and for withdrawn consent an inactive permit followed by an
// active deny.
func consents(p person) []fhirr4.Consent {
	base := func(id, status, when, typ string) fhirr4.Consent {
		return fhirr4.Consent{
			ResourceType: "Consent", ID: id, Status: status,
			Scope:      fhirr4.CodeableConcept{Coding: []fhirr4.Coding{{System: "http://terminology.hl7.org/CodeSystem/consentscope", Code: "patient-privacy", Display: "Privacy Consent"}}},
			Category:   []fhirr4.CodeableConcept{{Coding: []fhirr4.Coding{{System: "http://loinc.org", Code: "59284-0", Display: "Patient Consent"}}}},
			Patient:    &fhirr4.Reference{Reference: "Patient/" + p.ID},
			DateTime:   when,
			PolicyRule: &fhirr4.CodeableConcept{Coding: []fhirr4.Coding{{System: national.SystemConsentPolicy, Code: national.ConsentPolicyCrossBorder, Display: "Cross-border sharing through MyHealth@EU"}}},
			Provision:  &fhirr4.ConsentProvision{Type: typ},
		}
	}
	var idx int
	fmt.Sscanf(p.ID, "p%d", &idx)
	day := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, idx*3)
	first := day.Format(time.RFC3339)
	withdrawn := day.AddDate(1, 6, 0).Add(6 * time.Hour).Format(time.RFC3339)
	if p.Consent == "withdrawn" {
		return []fhirr4.Consent{
			base("c-"+p.ID+"-1", "inactive", first, "permit"),
			base("c-"+p.ID+"-2", "active", withdrawn, "deny"),
		}
	}
	return []fhirr4.Consent{base("c-"+p.ID+"-1", "active", first, "permit")}
}

func readme() []byte {
	var b strings.Builder
	b.WriteString(readmeHead)
	b.WriteString("| id | matricule (13) | legacy (11) | name | birth date | gender | residence | consent | roles |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range people {
		m, l := p.ids()
		roles := strings.Join(p.Roles, "; ")
		if p.Comment != "" {
			roles += " — " + p.Comment
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s %s | %s | %s | %s, %s | %s | %s |\n",
			p.ID, or(m, "—"), or(l, "—"), strings.Join(p.Given, " "), strings.ToUpper(p.Family), p.birthDate(), p.Gender,
			p.City, countryName(p.Country), p.Consent, roles)
	}
	b.WriteString(readmeTail)
	return []byte(b.String())
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
