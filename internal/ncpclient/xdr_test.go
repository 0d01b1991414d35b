package ncpclient_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestEDocumentValid: the eDispensations the CLI, the conformance suite and
// the tests send are eHDSI-valid (XSD + schematron) and read back by
// luxncp's own eD reader with the right references.
func TestEDocumentValid(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, atc := range []string{"C08CA01", ""} {
		var strength ncpclient.Amount // with an ingredient strength, then without
		if atc != "" {
			strength = ncpclient.Amount{Value: "5", Unit: "mg"}
		}
		b := ncpclient.EDocument(ncpclient.Dispensed{
			Strength:   strength,
			DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: "ed-test"},
			Patient:    wssec.PatientID{Extension: "1971011007114", Root: "1.3.182.4.4"}, PatientGiven: "Thomas", PatientName: "Lefebvre",
			Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0003"},
			Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0003"},
			ProductCode:  "3400930000001", ProductName: "Amlodipine 5 mg", ATC: atc, Quantity: 1,
			Pharmacist: "Claire Martin", Pharmacy: "Pharmacie du Centre", Country: "FR", Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		})
		d, err := cda.ReadED(b, cda.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if pid, ok := d.PatientID("1.3.182.4.4"); !ok || pid.Extension != "1971011007114" || len(d.Items) != 1 || d.Key(0) != "2.16.17.710.790.1000.990.1.16^ed-test" {
			t.Fatalf("read back: %+v", d)
		}
		if ings := d.Items[0].Product.Ingredients; strength.Value != "" && (len(ings) != 1 || ings[0].Strength != (cda.Quantity{Value: 5, Unit: "mg"}) || ings[0].Per != (cda.Quantity{Value: 1, Unit: "1"})) {
			t.Fatalf("strength read back: %+v", ings)
		}
		f := filepath.Join(dir, "ed"+string(rune('0'+i))+".xml")
		os.WriteFile(f, b, 0o644)
		files = append(files, f)
	}
	if !testing.Short() {
		testutil.ValidateCDA(t, files...)
	}
}

// TestXDRBodyFormatCode: the formatCode is the one OpenNCP's Country A
// dispatches on, exactly — a discard says discard.
func TestXDRBodyFormatCode(t *testing.T) {
	for discard, want := range map[bool]string{false: "urn:epSOS:ep:dis:2010", true: "urn:eHDSI:ed:discard:2020"} {
		body := ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: discard, Patient: wssec.PatientID{Extension: "1", Root: "1.3.182.4.4"},
			DocumentUID: "1.2^3", SubmissionSetID: "1.2.4", SourceID: "1.2.5", Document: []byte("<x/>"), Now: time.Unix(0, 0)})
		var got []string
		for _, c := range body.FindElements(".//Classification[@classificationScheme='urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d']") {
			got = append(got, c.SelectAttrValue("nodeRepresentation", ""))
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("discard %v: formatCode %v, want %s", discard, got, want)
		}
	}
}
