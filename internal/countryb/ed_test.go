package countryb

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

func edParams() EDParams {
	return EDParams{Item: DispenseItem{Packages: 2, Note: "Délivré à Luxembourg"}, Pharmacist: ncpclient.Professional{ID: "lu-pharm-3001", Name: "Sophie Muller",
		Organisation: "Pharmacie de la Gare", OrganisationID: "urn:oid:1.3.182.4.2.77", Locality: "Luxembourg", Role: "pharmacist"},
		Country: "LU", Now: time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), DocumentRoot: "1.3.182.2.12.10000734.6.1.8"}
}

func TestBuildED(t *testing.T) {
	prof, _ := peer.Profile("PT")
	ep := peer.BuildEP(prof, 0, 0, time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC))
	ed, id, err := BuildED(ep, edParams())
	if err != nil {
		t.Fatal(err)
	}
	again, id2, _ := BuildED(ep, edParams())
	if !bytes.Equal(ed, again) || id != id2 {
		t.Fatal("eDispensation is not deterministic")
	}
	for _, want := range []string{"1.3.6.1.4.1.12559.11.10.1.3.1.1.2", prof.Patients[0].ID, "PT-EP-2026-7700123-1", "Letter 100 µg", `<quantity value="2" unit="1"/>`} {
		if !bytes.Contains(ed, []byte(want)) {
			t.Errorf("eD lacks %q", want)
		}
	}
	testutil.Golden(t, "ed-pt.xml", ed)
	if _, _, err := BuildED(ep, EDParams{Item: DispenseItem{PrescriptionItemID: "nope", Packages: 1}}); err == nil {
		t.Error("unknown item accepted")
	}
	if _, _, err := BuildED([]byte("<x/>"), edParams()); err == nil {
		t.Error("non-CDA accepted")
	}
}

// TestEDValidates checks the eDispensation with the shared eHDSI validator.
func TestEDValidates(t *testing.T) {
	if testing.Short() {
		t.Skip("the validator takes seconds")
	}
	prof, _ := peer.Profile("PT")
	ep := peer.BuildEP(prof, 0, 0, time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC))
	ed, _, err := BuildED(ep, edParams())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "ed.xml")
	if err := os.WriteFile(f, ed, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.ValidateCDA(t, f)
}

func FuzzBuildED(f *testing.F) {
	prof, _ := peer.Profile("FR")
	f.Add(peer.BuildEP(prof, 0, 0, time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC)))
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1"/><component><substanceAdministration/></component></ClinicalDocument>`))
	f.Add([]byte(`<ClinicalDocument><substanceAdministration><consumable><manufacturedProduct/></consumable></substanceAdministration></ClinicalDocument>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = BuildED(b, edParams())
	})
}

// TestEDFromLegacyEP dispenses an ePrescription written in the pre-2022
// epSOS medication namespace: the eDispensation is current eHDSI (every
// prefix declared, no epSOS element, no empty id extension) and passes
// the shared validator (XSD and schematron).
func TestEDFromLegacyEP(t *testing.T) {
	for _, name := range []string{"gr-ep-epsos.xml", "cz-ep-epsos.xml"} {
		t.Run(name, func(t *testing.T) {
			ep, err := os.ReadFile(filepath.Join("testdata", "legacy", name))
			if err != nil {
				t.Fatal(err)
			}
			ed, _, err := BuildED(ep, edParams())
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"epsos", `=""`} {
				if bytes.Contains(ed, []byte(bad)) {
					t.Errorf("eD contains %q", bad)
				}
			}
			f := filepath.Join(t.TempDir(), "ed.xml")
			if err := os.WriteFile(f, ed, 0o644); err != nil {
				t.Fatal(err)
			}
			testutil.ValidateCDA(t, f)
		})
	}
}

// TestLegacyEPRoundTrip: an epSOS-namespace ePrescription translated into
// each clinician language stays valid against the legacy epSOS schema
// (the kept original display is an epsos:translation under epsos: codes),
// renders, and the eDispensation built from the translated document is
// valid current eHDSI.
func TestLegacyEPRoundTrip(t *testing.T) {
	cat, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	rr, err := render.NewRenderer(cat)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var legacy, eds []string
	for _, name := range []string{"gr-ep-epsos.xml", "cz-ep-epsos.xml"} {
		ep, err := os.ReadFile(filepath.Join("testdata", "legacy", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range render.Languages {
			out, rep, err := render.Translate(ep, cat, lang)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Translated == 0 {
				t.Errorf("%s %s: nothing translated", name, lang)
			}
			if !bytes.Contains(out, []byte("<epsos:translation ")) {
				t.Errorf("%s %s: no epsos:translation kept under the epsos: codes", name, lang)
			}
			f := filepath.Join(dir, lang+"-"+name)
			if err := os.WriteFile(f, out, 0o644); err != nil {
				t.Fatal(err)
			}
			legacy = append(legacy, f)
			if _, err := rr.HTMLBytes(out, render.Options{Lang: lang}); err != nil {
				t.Fatal(err)
			}
			ed, _, err := BuildED(out, edParams())
			if err != nil {
				t.Fatal(err)
			}
			f = filepath.Join(dir, "ed-"+lang+"-"+name)
			if err := os.WriteFile(f, ed, 0o644); err != nil {
				t.Fatal(err)
			}
			eds = append(eds, f)
		}
	}
	testutil.ValidateLegacyCDA(t, legacy...)
	testutil.ValidateCDA(t, eds...)
}

// skeleton is an eDispensation without its data: every element's path and
// attributes (names in order; values where they are fixed by the eHDSI
// template: structural codes, templates, codes), leaving out the parts each
// builder takes from elsewhere (patient, narrative, products).
func skeleton(t *testing.T, ed []byte) []string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(ed); err != nil {
		t.Fatal(err)
	}
	data := map[string]bool{"recordTarget": true, "text": true, "product": true, "consumable": true, "addr": true}
	fixed := map[string]bool{"templateId": true, "typeId": true, "code": true, "functionCode": true, "confidentialityCode": true, "signatureCode": true}
	var out []string
	var walk func(e *etree.Element, path string)
	walk = func(e *etree.Element, path string) {
		path += "/" + e.FullTag()
		line := path
		for _, a := range e.Attr {
			if e.Tag == "id" || e.Tag == "setId" {
				break // an II: root with or without extension is data
			}
			line += " @" + a.FullKey()
			switch a.Key {
			case "classCode", "moodCode", "typeCode", "contextControlCode", "contextConductionInd", "determinerCode", "use":
				line += "=" + a.Value
			default:
				if fixed[e.Tag] {
					line += "=" + a.Value
				}
			}
		}
		out = append(out, line)
		if data[e.Tag] {
			return
		}
		for _, c := range e.ChildElements() {
			walk(c, path)
		}
	}
	walk(doc.Root(), "")
	return out
}

// TestOneEDSkeleton: the eDispensation Country B sends (BuildED, from the
// foreign ePrescription) and the one the CLI, the conformance suite and the
// tests send (ncpclient.EDocument, from fields) are one wire artefact: the
// same eHDSI skeleton, element for element, both eHDSI-valid.
func TestOneEDSkeleton(t *testing.T) {
	prof, _ := peer.Profile("PT")
	ep := peer.BuildEP(prof, 0, 0, time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC))
	fromEP, _, err := BuildED(ep, edParams())
	if err != nil {
		t.Fatal(err)
	}
	fromFields := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.8", Extension: "ed-1"},
		Patient:    wssec.PatientID{Extension: prof.Patients[0].ID, Root: "2.16.620.1.101.10.1.1"}, PatientGiven: "Ana", PatientName: "Silva", PatientBirthDate: "1980-01-01",
		Prescription: wssec.PatientID{Root: "2.16.620.1.101.10.3.29", Extension: "PT-EP-2026-7700123"},
		Item:         wssec.PatientID{Root: "2.16.620.1.101.10.3.29", Extension: "PT-EP-2026-7700123-1"},
		ProductCode:  "5601234567890", ProductName: "Letter 100 µg", ATC: "H03AA01", Quantity: 2,
		Pharmacist: "Sophie Muller", Pharmacy: "Pharmacie de la Gare", Country: "LU", Time: time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC),
	})
	a, b := skeleton(t, fromEP), skeleton(t, fromFields)
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			t.Fatalf("the two eDispensation builders drift at element %d:\n BuildED   %s\n EDocument %s", i, x, y)
		}
	}
	if testing.Short() {
		return
	}
	dir := t.TempDir()
	var files []string
	for name, ed := range map[string][]byte{"from-ep.xml": fromEP, "from-fields.xml": fromFields} {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, ed, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	testutil.ValidateCDA(t, files...)
}

// TestEDRefusesWhatThePrescriptionDoesNotAllow: more packages than the
// item prescribes, or a substitution the prescriber forbade, is refused
// before anything is built or sent; within the prescription it is built.
func TestEDRefusesWhatThePrescriptionDoesNotAllow(t *testing.T) {
	prof, _ := peer.Profile("PT")
	ep := peer.BuildEP(prof, 0, 0, time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC)) // 2 packages, substitution G
	p := edParams()
	p.Item.Packages = 3
	if _, _, err := BuildED(ep, p); err == nil || !strings.Contains(err.Error(), "for 2 package(s); 3 cannot be dispensed") {
		t.Errorf("3 packages of a 2-package item: %v", err)
	}
	p.Item.Packages, p.Item.Substituted, p.Item.Product = 1, true, "Generic levothyroxine 100 µg"
	if _, _, err := BuildED(ep, p); err != nil {
		t.Errorf("a substitution the prescriber allows (G): %v", err)
	}
	forbidden := bytes.Replace(ep, []byte(`code="G" codeSystem="2.16.840.1.113883.5.1070"`), []byte(`code="N" codeSystem="2.16.840.1.113883.5.1070"`), 1)
	if bytes.Equal(forbidden, ep) {
		t.Fatal("fixture changed: no substitution code G to replace")
	}
	if _, _, err := BuildED(forbidden, p); err == nil || !strings.Contains(err.Error(), "does not allow substitution") {
		t.Errorf("a substitution the prescriber forbade (N): %v", err)
	}
	p.Item.Substituted = false
	if _, _, err := BuildED(forbidden, p); err != nil {
		t.Errorf("the prescribed product where substitution is forbidden: %v", err)
	}
}
