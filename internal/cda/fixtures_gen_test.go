package cda

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// go test ./internal/cda -run TestFixtures -fixtures rewrites the demo
// ePrescription fixtures from the table below; without the flag the test
// checks that the files are up to date.
var regenFixtures = flag.Bool("fixtures", false, "rewrite internal/national/demo/data/eprescriptions from the fixture table")

// Fixture systems.
const (
	fixSystemPrescription = "urn:oid:1.3.182.2.12.10000734.6.1.100" // demo: national prescription ids
	fixSystemHCP          = "urn:oid:1.3.182.4.1"
	fixSystemOrg          = "urn:oid:1.3.182.4.2"
)

type fixPrescriber struct {
	id, given, family, isco, iscoDisplay, orgID, org, street, city, postal, phone string
}

var fixPrescribers = []fixPrescriber{
	{"1234567-01", "Marc", "Hoffmann", "221", "Medical doctors", "0000123", "Cabinet médical Hoffmann", "12, rue de la Gare", "Luxembourg", "L-1611", "+352 26 12 34 56"},
	{"2345678-02", "Anne", "Schmitz", "221", "Medical doctors", "0000456", "Centre Hospitalier de Luxembourg", "4, rue Nicolas Ernest Barblé", "Luxembourg", "L-1210", "+352 44 11 11"},
	{"3456789-03", "Paul", "Reding", "221", "Medical doctors", "0000789", "Maison médicale Esch", "70, rue de l'Alzette", "Esch-sur-Alzette", "L-4011", "+352 54 77 88"},
}

type fixDosage struct {
	dose     float64
	unit     string // UCUM of the dose ("1" tablet/capsule/puff)
	freq     int
	period   float64
	periodU  string
	text     string // free text; structured fields may be zero
	asNeeded bool
	days     int // treatment duration from authoredOn (0: open)
}

type fixture struct {
	id, patient, product string
	status               string
	authored             string // date; time is 10:00 Luxembourg
	validUntil           string
	packages             float64
	repeats              int
	subst                bool
	dosage               fixDosage
	patientInstr, note   string
	prescriber           int
	golden               bool
}

// The demo prescriptions (see the README of the eprescriptions directory).
var fixtures = []fixture{
	{"ep-0001", "p07", "1991061438", "active", "2026-11-16", "2027-02-16", 1, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d", days: 5}, "Prendre le matin pendant le repas.", "", 0, true},
	{"ep-0002", "p07", "2001096526", "active", "2026-11-18", "2027-02-18", 1, 0, false, fixDosage{dose: 1, unit: "1", freq: 3, period: 1, periodU: "d", days: 7}, "", "Pas de substitution : allergie à un excipient.", 0, true},
	{"ep-0003", "p08", "1996040436", "active", "2026-10-01", "2027-10-01", 1, 5, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "À prendre à jeun.", "Traitement de longue durée.", 1, true},
	{"ep-0004", "p08", "1998020765", "active", "2026-11-02", "2027-05-02", 1, 2, true, fixDosage{text: "2 bouffées en cas de crise, au maximum 8 bouffées par jour", asNeeded: true}, "", "", 1, true},
	{"ep-0005", "p10", "2003102674", "active", "2026-11-20", "2027-02-20", 3, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d", days: 30}, "Injection sous-cutanée le soir.", "", 1, false},
	{"ep-0006", "p10", "2015121545", "active", "2026-11-12", "2027-02-12", 1, 0, true, fixDosage{dose: 2, unit: "1", freq: 3, period: 1, periodU: "d", days: 14}, "Laisser fondre sous la langue.", "", 2, true},
	{"ep-0007", "p14", "2006090533", "active", "2026-09-15", "2027-09-15", 2, 3, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 2, false},
	{"ep-0008", "p14", "1992030767", "completed", "2026-08-01", "2027-08-01", 1, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 2, false},
	{"ep-0009", "p27", "2004110207", "active", "2025-12-01", "2026-06-30", 1, 2, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 0, false},
	{"ep-0010", "p27", "2002120874", "cancelled", "2026-11-03", "2027-02-03", 1, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 0, false},
	{"ep-0011", "p27", "2003051102", "active", "2026-11-03", "2027-11-03", 1, 5, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 0, false},
	{"ep-0012", "p32", "2000121229", "active", "2026-11-19", "2026-12-19", 1, 0, true, fixDosage{dose: 5, unit: "mL", freq: 3, period: 1, periodU: "d", days: 7}, "Bien agiter avant emploi.", "", 1, false},
	{"ep-0013", "p32", "1998041214", "active", "2026-11-10", "2027-05-10", 2, 1, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d", text: "le soir"}, "", "", 1, false},
	{"ep-0014", "p35", "2004030989", "active", "2026-10-20", "2027-10-20", 1, 5, false, fixDosage{dose: 1, unit: "1", freq: 2, period: 1, periodU: "d"}, "Se rincer la bouche après chaque inhalation.", "Même marque uniquement (dispositif d'inhalation).", 2, false},
	{"ep-0015", "p35", "2001070981", "active", "2026-10-20", "2027-10-20", 1, 3, true, fixDosage{text: "1 goutte dans chaque œil le soir"}, "", "", 2, false},
	{"ep-0016", "p03", "1993012567", "active", "2026-11-05", "2027-05-05", 2, 2, false, fixDosage{text: "selon schéma INR : ½ comprimé lundi, mercredi et vendredi, 1 comprimé les autres jours"}, "Contrôle INR chaque semaine.", "Ne pas substituer (antivitamine K).", 0, true},
	{"ep-0017", "p03", "1999081203", "active", "2026-09-01", "2027-09-01", 2, 5, true, fixDosage{dose: 1, unit: "1", freq: 2, period: 1, periodU: "d"}, "Pendant les repas.", "", 0, false},
	{"ep-0018", "p03", "1994052236", "active", "2026-09-01", "2027-09-01", 1, 5, false, fixDosage{dose: 1, unit: "1", freq: 3, period: 1, periodU: "d"}, "", "", 0, false},
	{"ep-0019", "p09", "2012101327", "active", "2026-10-10", "2027-10-10", 2, 3, true, fixDosage{dose: 18, unit: "[IU]", freq: 1, period: 1, periodU: "d"}, "Injecter le soir, même heure chaque jour.", "", 1, false},
	{"ep-0020", "p09", "2011050434", "active", "2026-10-10", "2027-10-10", 2, 3, true, fixDosage{text: "selon glycémie, 4 à 8 unités avant chaque repas"}, "", "", 1, false},
	{"ep-0021", "p04", "1995031881", "active", "2026-11-21", "2027-01-21", 1, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 6, periodU: "h", asNeeded: true, text: "si douleur ou fièvre, au maximum 3 g par jour"}, "", "", 2, false},
	{"ep-0022", "p05", "2003091336", "active", "2026-11-22", "2026-12-22", 1, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d", days: 3}, "", "Allergie à la pénicilline : azithromycine choisie.", 1, false},
	{"ep-0023", "p17", "2008120866", "active", "2026-10-05", "2027-10-05", 1, 5, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 0, false},
	{"ep-0024", "p12", "2010070425", "active", "2026-09-20", "2027-09-20", 3, 3, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 2, false},
	{"ep-0025", "p34", "2017031190", "active", "2026-11-01", "2027-11-01", 1, 5, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 1, periodU: "d"}, "", "", 1, false},
	{"ep-0026", "p10", "2007091107", "stopped", "2026-07-01", "2027-01-01", 1, 0, true, fixDosage{dose: 1, unit: "1", freq: 1, period: 72, periodU: "h"}, "", "", 1, false},
	{"ep-0027", "p31", "2005110872", "active", "2026-10-15", "2027-10-15", 1, 5, true, fixDosage{dose: 2, unit: "1", freq: 2, period: 1, periodU: "d"}, "", "", 0, false},
}

// ordered is a JSON object that keeps its key order.
type ordered []kv

type kv struct {
	k string
	v any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func coding(system, code, display string) ordered {
	o := ordered{{"system", system}, {"code", code}}
	if display != "" {
		o = append(o, kv{"display", display})
	}
	return o
}

func quantityJSON(v float64, unit string) ordered {
	o := ordered{{"value", v}}
	if unit != "" {
		o = append(o, kv{"unit", unit}, kv{"system", "http://unitsofmeasure.org"}, kv{"code", unit})
	}
	return o
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func buildFixture(t *testing.T, f fixture, patients map[string]map[string]any, products map[string]map[string]string, ingredients map[string][]map[string]string) []byte {
	t.Helper()
	pat, ok := patients[f.patient]
	if !ok {
		t.Fatalf("%s: patient %s not in patients.json", f.id, f.patient)
	}
	prod, ok := products[f.product]
	if !ok {
		t.Fatalf("%s: product %s not in lu-products.csv", f.id, f.product)
	}
	pr := fixPrescribers[f.prescriber]
	n := strings.TrimPrefix(f.id, "ep-")
	rxID := "rx-" + n
	medID := "med-" + n
	authored := f.authored + "T10:00:00+01:00"

	// Patient: as in patients.json (identifiers, name, gender, birth date, address, telecom).
	patient := ordered{{"resourceType", "Patient"}, {"id", f.patient}}
	for _, k := range []string{"identifier", "name", "telecom", "gender", "birthDate", "address"} {
		if v, ok := pat[k]; ok {
			patient = append(patient, kv{k, v})
		}
	}

	medCode := []ordered{coding("urn:oid:1.3.182.4.13", f.product, prod["name"])}
	if prod["atc_code"] != "" {
		medCode = append(medCode, coding("http://www.whocc.no/atc", prod["atc_code"], prod["atc_display"]))
	}
	med := ordered{{"resourceType", "Medication"}, {"id", medID}}
	if prod["package_edqm"] != "" {
		med = append(med, kv{"extension", []ordered{{{"url", ExtPackageType}, {"valueCodeableConcept", ordered{{"coding", []ordered{coding("http://standardterms.edqm.eu", prod["package_edqm"], prod["package_display"])}}}}}}})
	}
	med = append(med,
		kv{"code", ordered{{"coding", medCode}, {"text", prod["name"]}}},
		kv{"form", ordered{{"coding", []ordered{coding("http://standardterms.edqm.eu", prod["dose_form_edqm"], prod["dose_form_display"])}}}},
	)
	packSize := 30.0
	if strings.Contains(prod["package_display"], "syringe") || strings.Contains(prod["package_display"], "Pre-filled pen") || strings.Contains(prod["package_display"], "Cartridge") {
		packSize = 10
	} else if strings.Contains(prod["package_display"], "Pressurised") || strings.Contains(prod["package_display"], "Inhaler") || strings.Contains(prod["package_display"], "Dropper") || strings.Contains(prod["package_display"], "Bottle") || strings.Contains(prod["package_display"], "Multidose") {
		packSize = 1
	}
	med = append(med, kv{"amount", ordered{{"numerator", quantityJSON(packSize, "1")}, {"denominator", ordered{{"value", 1.0}}}}})
	var ings []ordered
	for _, in := range ingredients[f.product] {
		cc := ordered{}
		if in["atc_code"] != "" {
			cc = append(cc, kv{"coding", []ordered{coding("http://www.whocc.no/atc", in["atc_code"], in["atc_display"])}})
		}
		cc = append(cc, kv{"text", in["substance"]})
		ing := ordered{{"itemCodeableConcept", cc}, {"isActive", true}}
		if in["strength_value"] != "" {
			num, den := in["strength_unit"], "1"
			if a, b, ok := strings.Cut(num, "/"); ok {
				num, den = a, b
			}
			ing = append(ing, kv{"strength", ordered{{"numerator", quantityJSON(mustFloat(in["strength_value"]), num)}, {"denominator", quantityJSON(1, den)}}})
		}
		ings = append(ings, ing)
	}
	if len(ings) > 0 {
		med = append(med, kv{"ingredient", ings})
	}

	dosage := ordered{{"sequence", 1}}
	d := f.dosage
	text := d.text
	if d.dose > 0 {
		unit := "comprimé(s)"
		if d.unit != "1" {
			unit = d.unit
		}
		s := fmt.Sprintf("%s %s", strconv.FormatFloat(d.dose, 'f', -1, 64), unit)
		if d.freq > 0 {
			s += fmt.Sprintf(", %d fois par %s %s", d.freq, strconv.FormatFloat(d.period, 'f', -1, 64), map[string]string{"d": "jour", "h": "heure(s)", "wk": "semaine"}[d.periodU])
		}
		if text != "" {
			s += ", " + text
		}
		text = s
	}
	dosage = append(dosage, kv{"text", text})
	if f.patientInstr != "" {
		dosage = append(dosage, kv{"patientInstruction", f.patientInstr})
	}
	if d.freq > 0 || d.days > 0 {
		rep := ordered{}
		if d.days > 0 {
			end := addDays(t, f.authored, d.days-1)
			rep = append(rep, kv{"boundsPeriod", ordered{{"start", f.authored}, {"end", end}}})
		}
		if d.freq > 0 {
			rep = append(rep, kv{"frequency", d.freq}, kv{"period", d.period}, kv{"periodUnit", d.periodU})
		}
		dosage = append(dosage, kv{"timing", ordered{{"repeat", rep}}})
	}
	if d.asNeeded {
		dosage = append(dosage, kv{"asNeededBoolean", true})
	}
	if prod["route_edqm"] != "" {
		dosage = append(dosage, kv{"route", ordered{{"coding", []ordered{coding("http://standardterms.edqm.eu", prod["route_edqm"], prod["route_display"])}}}})
	}
	if d.dose > 0 {
		u := d.unit
		dosage = append(dosage, kv{"doseAndRate", []ordered{{{"doseQuantity", quantityJSON(d.dose, u)}}}})
	}

	req := ordered{
		{"resourceType", "MedicationRequest"}, {"id", rxID},
		{"identifier", []ordered{{{"system", fixSystemPrescription}, {"value", rxID}}}},
		{"status", f.status}, {"intent", "order"},
		{"medicationReference", ordered{{"reference", "Medication/" + medID}}},
		{"subject", ordered{{"reference", "Patient/" + f.patient}}},
		{"authoredOn", authored},
		{"requester", ordered{{"reference", "PractitionerRole/prr-" + strconv.Itoa(f.prescriber+1)}}},
	}
	if f.note != "" {
		req = append(req, kv{"note", []ordered{{{"text", f.note}}}})
	}
	req = append(req, kv{"dosageInstruction", []ordered{dosage}})
	req = append(req, kv{"dispenseRequest", ordered{
		{"validityPeriod", ordered{{"start", f.authored}, {"end", f.validUntil}}},
		{"numberOfRepeatsAllowed", f.repeats},
		{"quantity", ordered{{"value", f.packages}, {"unit", "package"}}},
	}})
	req = append(req, kv{"substitution", ordered{{"allowedBoolean", f.subst}}})

	pid := strconv.Itoa(f.prescriber + 1)
	practitioner := ordered{{"resourceType", "Practitioner"}, {"id", "pr-" + pid},
		{"identifier", []ordered{{{"system", fixSystemHCP}, {"value", pr.id}}}},
		{"name", []ordered{{{"family", pr.family}, {"given", []string{pr.given}}, {"prefix", []string{"Dr"}}}}},
		{"telecom", []ordered{{{"system", "phone"}, {"value", pr.phone}, {"use", "work"}}}},
	}
	role := ordered{{"resourceType", "PractitionerRole"}, {"id", "prr-" + pid},
		{"practitioner", ordered{{"reference", "Practitioner/pr-" + pid}}},
		{"organization", ordered{{"reference", "Organization/org-" + pid}}},
		{"code", []ordered{{{"coding", []ordered{coding("urn:oid:2.16.840.1.113883.2.9.6.2.7", pr.isco, pr.iscoDisplay)}}}}},
	}
	org := ordered{{"resourceType", "Organization"}, {"id", "org-" + pid},
		{"identifier", []ordered{{{"system", fixSystemOrg}, {"value", pr.orgID}}}},
		{"name", pr.org},
		{"telecom", []ordered{{{"system", "phone"}, {"value", pr.phone}, {"use", "work"}}}},
		{"address", []ordered{{{"line", []string{pr.street}}, {"city", pr.city}, {"postalCode", pr.postal}, {"country", "LU"}}}},
	}
	entry := func(r ordered) ordered {
		typ, id := r[0].v.(string), r[1].v.(string)
		return ordered{{"fullUrl", "https://national.demo.lu/fhir/" + typ + "/" + id}, {"resource", r}}
	}
	bundle := ordered{
		{"resourceType", "Bundle"}, {"id", f.id},
		{"identifier", ordered{{"system", fixSystemPrescription}, {"value", f.id}}},
		{"type", "collection"},
		{"timestamp", authored},
		{"entry", []ordered{entry(req), entry(med), entry(patient), entry(role), entry(practitioner), entry(org)}},
	}
	b, err := json.MarshalIndent(bundle, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func addDays(t *testing.T, date string, days int) string {
	t.Helper()
	d, ok := startOf(date)
	if !ok {
		t.Fatalf("bad date %q", date)
	}
	return d.AddDate(0, 0, days).Format("2006-01-02")
}

func fixtureDir(t testing.TB) string {
	return filepath.Join(testutil.RepoRoot(t), "internal", "national", "demo", "data", "eprescriptions")
}

func TestFixtures(t *testing.T) {
	root := testutil.RepoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "internal", "national", "demo", "data", "patients.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pb struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &pb); err != nil {
		t.Fatal(err)
	}
	patients := map[string]map[string]any{}
	for _, e := range pb.Entry {
		if e.Resource["resourceType"] == "Patient" {
			patients[e.Resource["id"].(string)] = e.Resource
		}
	}
	products := map[string]map[string]string{}
	for _, r := range readCSV(t, filepath.Join(root, "translations", "lu-products.csv")) {
		products[r["lu_code"]] = r
	}
	ingredients := map[string][]map[string]string{}
	for _, r := range readCSV(t, filepath.Join(root, "translations", "lu-product-ingredients.csv")) {
		ingredients[r["lu_code"]] = append(ingredients[r["lu_code"]], r)
	}
	dir := fixtureDir(t)
	for _, f := range fixtures {
		got := buildFixture(t, f, patients, products, ingredients)
		path := filepath.Join(dir, f.id+".json")
		if *regenFixtures {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/cda -run TestFixtures -fixtures)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date (run go test ./internal/cda -run TestFixtures -fixtures)", path)
		}
	}
}
