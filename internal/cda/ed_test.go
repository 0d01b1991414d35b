package cda

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/testutil"
)

func edSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "reference", "cda", "samples", "ed", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadEDSamples(t *testing.T) {
	tests := []struct {
		file      string
		docID     II
		patient   II
		orders    []II
		items     []II // prescription item ids of the first supply
		product   string
		atc       string
		qty       float64
		country   string
		handedOut string
	}{
		{"PL_eD-L3_PlRequest1.xml", II{"2.16.840.1.113883.3.4424.7.20.2.2.1.2.7.19.5.1", "A9F0065214DE43D1AB0509"},
			II{"1.2.208.176.1.2", "2205226691"}, []II{{"1.2.208.176.7.2.2", "481295000650102"}},
			[]II{{"1.2.208.176.7.2.2", "481295000650102"}}, "Asubtela", "G03AA12", 1, "PL", "2025-04-04T12:21:29+01:00"},
		{"MT_eD-L3_2025-03-20.xml", II{"2.16.470.1.100.1.2.1000.990.1.16", "ZURSWWWDFz40/g++"},
			II{"1.2.208.176.1.2", "1503194046"}, []II{{"1.2.208.176.7.2.2", "480003371650102"}},
			[]II{{"1.2.208.176.7.2.2", "480003371650102"}}, "Paracetamol 10 mg/ml solution for infusion", "N02BE01", 1, "MT", "2025-03-20T14:43:55+01:00"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d, err := ReadED(edSample(t, tc.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if d.DocumentID != tc.docID {
				t.Errorf("document id %+v, want %+v", d.DocumentID, tc.docID)
			}
			if p, _ := d.PatientID(""); p != tc.patient {
				t.Errorf("patient %+v, want %+v", p, tc.patient)
			}
			if !equalIIs(d.OrderIDs, tc.orders) {
				t.Errorf("orders %+v, want %+v", d.OrderIDs, tc.orders)
			}
			if len(d.Items) != 1 {
				t.Fatalf("%d items", len(d.Items))
			}
			it := d.Items[0]
			if !equalIIs(it.PrescriptionItemIDs, tc.items) {
				t.Errorf("item refs %+v, want %+v", it.PrescriptionItemIDs, tc.items)
			}
			if it.Product.Name != tc.product || it.Product.ATC.Code != tc.atc || it.Quantity.Value != tc.qty {
				t.Errorf("product %+v qty %v", it.Product, it.Quantity)
			}
			if d.Country != tc.country {
				t.Errorf("country %q, want %q", d.Country, tc.country)
			}
			if got := it.Time.Format("2006-01-02T15:04:05-07:00"); got != tc.handedOut {
				t.Errorf("time %s, want %s", got, tc.handedOut)
			}
			if len(d.PrescriptionRefs()) == 0 {
				t.Error("no prescription refs")
			}
		})
	}
}

func equalIIs(a, b []II) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMedicationDispense(t *testing.T) {
	d, err := ReadED(edSample(t, "PL_eD-L3_PlRequest1.xml"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.MedicationDispense(0, "rx-0001", "1983030506626")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	if md["status"] != "completed" || !strings.Contains(string(b), `"reference":"MedicationRequest/rx-0001"`) ||
		!strings.Contains(string(b), `"value":"A9F0065214DE43D1AB0509"`) {
		t.Errorf("unexpected MedicationDispense %s", b)
	}
	if d.Key(0) != "2.16.840.1.113883.3.4424.7.20.2.2.1.2.7.19.5.1^A9F0065214DE43D1AB0509" {
		t.Errorf("key %s", d.Key(0))
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, b, "", "  ")
	testutil.Golden(t, "ed/PL-MedicationDispense.json", pretty.Bytes())
	if _, err := d.MedicationDispense(0, "", "x"); err == nil {
		t.Error("no error without prescription id")
	}
}

func TestReadEDErrors(t *testing.T) {
	pl := string(edSample(t, "PL_eD-L3_PlRequest1.xml"))
	cut := func(s, from, to string) string {
		i := strings.Index(s, from)
		j := strings.Index(s[i:], to)
		if i < 0 || j < 0 {
			t.Fatalf("mutation anchors %q..%q not found", from, to)
		}
		return s[:i] + s[i+j+len(to):]
	}
	noRefs := cut(cut(cut(pl, "<inFulfillmentOf", "</inFulfillmentOf>"), "<relatedDocument", "</relatedDocument>"), `<entryRelationship typeCode="REFR">`, "</entryRelationship>")
	tests := []struct {
		name string
		in   string
		lim  Limits
		want ehdsi.Code
	}{
		{"not xml", "hello", Limits{}, ehdsi.ErrEDIncorrectFormatting},
		{"empty", "", Limits{}, ehdsi.ErrEDIncorrectFormatting},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><ClinicalDocument xmlns="urn:hl7-org:v3">&a;</ClinicalDocument>`, Limits{}, ehdsi.ErrEDIncorrectFormatting},
		{"too large", pl, Limits{MaxBytes: 1000}, ehdsi.ErrEDIncorrectFormatting},
		{"too deep", pl, Limits{MaxDepth: 5}, ehdsi.ErrEDIncorrectFormatting},
		{"too many elements", pl, Limits{MaxElements: 50}, ehdsi.ErrEDIncorrectFormatting},
		{"wrong root", `<Document xmlns="urn:hl7-org:v3"/>`, Limits{}, ehdsi.ErrEDIncorrectFormatting},
		{"wrong namespace", strings.Replace(pl, `xmlns="urn:hl7-org:v3"`, `xmlns="urn:other"`, 1), Limits{}, ehdsi.ErrEDIncorrectFormatting},
		{"eP not eD", strings.Replace(pl, "1.3.6.1.4.1.12559.11.10.1.3.1.1.2", "1.3.6.1.4.1.12559.11.10.1.3.1.1.1", 1), Limits{}, ehdsi.ErrEDIncorrectFormatting},
		{"no patient", cut(pl, "<recordTarget", "</recordTarget>"), Limits{}, ehdsi.ErrEDMissingRequiredFields},
		{"no document id", strings.Replace(pl, `<id extension="A9F0065214DE43D1AB0509" root="2.16.840.1.113883.3.4424.7.20.2.2.1.2.7.19.5.1" />`, "", 1), Limits{}, ehdsi.ErrEDMissingRequiredFields},
		{"no supply", cut(pl, `<entry typeCode="COMP">`, "</entry>"), Limits{}, ehdsi.ErrEDMissingRequiredFields},
		{"no prescription reference", noRefs, Limits{}, ehdsi.ErrEDPrescriptionNotIdentifiable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadED([]byte(tc.in), tc.lim)
			var ee *EDError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want *EDError", err)
			}
			if ee.Code != tc.want {
				t.Errorf("code %s, want %s (%v)", ee.Code, tc.want, err)
			}
			if f := ee.Fault(); f.Code != tc.want || f.Kind != ehdsi.KindApplication {
				t.Errorf("fault %+v", f)
			}
		})
	}
}

func FuzzReadED(f *testing.F) {
	f.Add(edSample(f, "PL_eD-L3_PlRequest1.xml"))
	f.Add(edSample(f, "MT_eD-L3_2025-03-20.xml"))
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.1.2"/></ClinicalDocument>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ReadED(data, Limits{})
		if err != nil {
			var ee *EDError
			if !errors.As(err, &ee) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if len(d.Items) == 0 || len(d.PatientIDs) == 0 || len(d.PrescriptionRefs()) == 0 {
			t.Fatal("accepted eDispensation without items, patient or prescription reference")
		}
		for i := range d.Items {
			if _, err := d.MedicationDispense(i, "rx", "1"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkReadED(b *testing.B) {
	data := edSample(b, "PL_eD-L3_PlRequest1.xml")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadED(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// asPrednisolone makes the Polish sample dispense ep-0001's medicine
// (prednisolone 20 mg, ATC H02AB06, tablets) instead of its own: one
// active ingredient of that strength.
func asPrednisolone(s string) string {
	s = strings.NewReplacer(`code="G03AA12"`, `code="H02AB06"`, `code="10221000"`, `code="10219000"`,
		`<numerator unit="mg" value="3" xsi:type="PQ" />`, `<numerator unit="mg" value="20" xsi:type="PQ" />`).Replace(s)
	second := strings.Index(s, `<numerator unit="mg" value="0.03"`)
	start := strings.LastIndex(s[:second], "<pharm:ingredient ")
	end := strings.Index(s[second:], "</pharm:ingredient>") + second + len("</pharm:ingredient>")
	return s[:start] + s[end:]
}

// withStrength gives the prednisolone of asPrednisolone another strength
// element (numerator and denominator).
func withStrength(pq string) func(string) string {
	return func(s string) string {
		s = asPrednisolone(s)
		return strings.Replace(s, `<numerator unit="mg" value="20" xsi:type="PQ" />
                                                <denominator unit="1" value="1" xsi:type="PQ" />`, pq, 1)
	}
}

// edFor builds an eDispensation of a fixture prescription by editing the
// Polish sample: our patient, our prescription item id, the prescribed
// medicine.
func edFor(t *testing.T, matricule, itemID string, substituted bool) *Dispensation {
	t.Helper()
	return edEdited(t, matricule, itemID, substituted, asPrednisolone)
}

// edEdited is edFor with the sample edited by edit instead.
func edEdited(t *testing.T, matricule, itemID string, substituted bool, edit func(string) string) *Dispensation {
	t.Helper()
	s := edit(string(edSample(t, "PL_eD-L3_PlRequest1.xml")))
	s = strings.ReplaceAll(s, `extension="2205226691" root="1.2.208.176.1.2"`, `extension="`+matricule+`" root="1.3.182.4.4"`)
	s = strings.ReplaceAll(s, `extension="481295000650102" root="1.2.208.176.7.2.2"`, `extension="`+itemID+`" root="1.3.182.2.12.10000734.6.1.100"`)
	if substituted {
		s = strings.Replace(s, "</supply>", `<entryRelationship typeCode="COMP"><act classCode="ACT" moodCode="EVN"><code code="SUBST" codeSystem="2.16.840.1.113883.5.6"/></act></entryRelationship></supply>`, 1)
	}
	d, err := ReadED([]byte(s), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAgainst(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	presc := func(id string) *Prescription {
		p, err := ParsePrescription(readFixture(t, id))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		d         *Dispensation
		p         *Prescription
		dispensed map[string]int
		want      ehdsi.Code // "" = accepted
	}{
		{"accepted", edFor(t, "1983030506626", "rx-0001", false), presc("ep-0001"), nil, ""},
		{"substitution allowed", edFor(t, "1983030506626", "rx-0001", true), presc("ep-0001"), nil, ""},
		{"substitution not allowed", edFor(t, "1983030506626", "rx-0002", true), presc("ep-0002"), nil, ehdsi.ErrEDSubstitutionNotAllowed},
		{"another patient", edFor(t, "1971011007114", "rx-0001", false), presc("ep-0001"), nil, ehdsi.ErrEDPrescriptionNotIdentifiable},
		{"by eP document id only", edByDocID(t), presc("ep-0001"), nil, ""},
		{"another prescription", edFor(t, "1983030506626", "rx-0002", false), presc("ep-0001"), nil, ehdsi.ErrEPNotMatching},
		{"already dispensed", edFor(t, "1983030506626", "rx-0001", false), presc("ep-0001"), map[string]int{"rx-0001": 1}, ehdsi.ErrEDNotDispensable},
		{"cancelled", edFor(t, "1987031419966", "rx-0010", false), presc("ep-0010"), nil, ehdsi.ErrEDNotDispensable},
		{"expired", edFor(t, "1987031419966", "rx-0009", false), presc("ep-0009"), nil, ehdsi.ErrEDNotDispensable},
		// The product: the Polish sample's own medicine (drospirenone and
		// ethinylestradiol) against a prednisolone prescription.
		{"another medicine, no substitution declared", edEdited(t, "1983030506626", "rx-0001", false, func(s string) string { return s }),
			presc("ep-0001"), nil, ehdsi.ErrEDPrescriptionNotIdentifiable},
		{"substitute with another active ingredient", edEdited(t, "1983030506626", "rx-0001", true, func(s string) string { return s }),
			presc("ep-0001"), nil, ehdsi.ErrEDSubstitutionNotAllowed},
		{"another dose form", edEdited(t, "1983030506626", "rx-0001", true, func(s string) string {
			return strings.ReplaceAll(s, `code="G03AA12"`, `code="H02AB06"`)
		}), presc("ep-0001"), nil, ehdsi.ErrEDSubstitutionNotAllowed},
		{"no ATC code", edEdited(t, "1983030506626", "rx-0001", false, func(s string) string {
			return strings.ReplaceAll(asPrednisolone(s), `code="H02AB06"`, `nullFlavor="NI"`)
		}), presc("ep-0001"), nil, ehdsi.ErrEDMissingExpectedMapping},
		// The strength (ep-0001: 20 mg per tablet), units normalised.
		{"another strength", edEdited(t, "1983030506626", "rx-0001", false, withStrength(`<numerator unit="mg" value="40"/><denominator unit="1" value="1"/>`)),
			presc("ep-0001"), nil, ehdsi.ErrEDSubstitutionNotAllowed},
		{"another strength, substitution allowed", edEdited(t, "1983030506626", "rx-0001", true, withStrength(`<numerator unit="mg" value="10"/><denominator unit="1" value="1"/>`)),
			presc("ep-0001"), nil, ehdsi.ErrEDSubstitutionNotAllowed},
		{"the same strength in grams", edEdited(t, "1983030506626", "rx-0001", false, withStrength(`<numerator unit="g" value="0.02"/><denominator unit="{tablet}" value="1"/>`)),
			presc("ep-0001"), nil, ""},
		{"the same strength in micrograms, no denominator", edEdited(t, "1983030506626", "rx-0001", false, withStrength(`<numerator unit="ug" value="20000"/>`)),
			presc("ep-0001"), nil, ""},
		{"per millilitre for a tablet", edEdited(t, "1983030506626", "rx-0001", false, withStrength(`<numerator unit="mg" value="20"/><denominator unit="mL" value="1"/>`)),
			presc("ep-0001"), nil, ehdsi.ErrEDSubstitutionNotAllowed},
		{"no strength (nullFlavor)", edEdited(t, "1983030506626", "rx-0001", false, withStrength(`<numerator nullFlavor="NI"/><denominator nullFlavor="NI"/>`)),
			presc("ep-0001"), nil, ""},
		{"more packages than prescribed", edEdited(t, "1983030506626", "rx-0001", false, func(s string) string {
			return strings.Replace(asPrednisolone(s), `<quantity unit="1" value="1" />`, `<quantity unit="1" value="3" />`, 1)
		}), presc("ep-0001"), nil, ehdsi.ErrEDNotDispensable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := tc.d.Against(tc.p, now, tc.dispensed)
			if tc.want == "" {
				if err != nil || len(idx) != 1 || idx[0] != 0 {
					t.Fatalf("Against = %v, %v", idx, err)
				}
				return
			}
			var ee *EDError
			if !errors.As(err, &ee) || ee.Code != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// edByDocID names the prescription only through our eP document id (parentDocument).
func edByDocID(t *testing.T) *Dispensation {
	s := asPrednisolone(string(edSample(t, "PL_eD-L3_PlRequest1.xml")))
	s = strings.ReplaceAll(s, `extension="2205226691" root="1.2.208.176.1.2"`, `extension="1983030506626" root="1.3.182.4.4"`)
	s = strings.ReplaceAll(s, `extension="481295000650102" root="1.2.208.176.7.2.2"`, `extension="other" root="9.9.9"`)
	s = strings.Replace(s, `<id extension="A9F0065214DE43D1AB0509" root="2.16.840.1.113883.3.4424.2.7.19.5.1" />`, `<id extension="ep-0001.L3" root="1.3.182.2.12.10000734.6.1" />`, 1)
	d, err := ReadED([]byte(s), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestContradicts: references in Luxembourg's namespaces must all name the
// prescription or its items; a partner's own ids are not judged.
func TestContradicts(t *testing.T) {
	p, err := ParsePrescription(readFixture(t, "ep-0001"))
	if err != nil {
		t.Fatal(err)
	}
	const nat = "1.3.182.2.12.10000734.6.1.100"
	for _, tc := range []struct {
		name string
		refs []II // the item reference, then the document references
		want bool
	}{
		{"item and document", []II{{nat, "rx-0001"}, {nat, "ep-0001"}}, false},
		{"another prescription's item", []II{{nat, "rx-0002"}, {nat, "ep-0001"}}, true},
		{"another prescription's item as root^extension", []II{{"9.9.9", nat + "^rx-0004"}, {nat, "ep-0001"}}, true},
		{"another prescription's document", []II{{nat, "rx-0001"}, {nat, "ep-0004"}}, true},
		{"the pivot eP id", []II{{nat, "rx-0001"}, {"1.3.182.2.12.10000734.6.1", "ep-0001.L3"}}, false},
		{"the pivot eP id of one item", []II{{"9.9.9", "x"}, {"1.3.182.2.12.10000734.6.1", "ep-0001~rx-0001.L1"}}, false},
		{"the pivot eP id of another prescription", []II{{nat, "rx-0001"}, {"1.3.182.2.12.10000734.6.1", "ep-0004.L3"}}, true},
		{"a partner's own item id", []II{{"9.9.9", "rx-0004"}, {nat, "ep-0001"}}, false},
	} {
		d := &Dispensation{Items: []DispensedItem{{PrescriptionItemIDs: tc.refs[:1]}}, OrderIDs: tc.refs[1:]}
		if got := d.Contradicts(p); got != tc.want {
			t.Errorf("%s: Contradicts = %v, want %v", tc.name, got, tc.want)
		}
	}
}
