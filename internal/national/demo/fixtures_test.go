package demo

import (
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"
)

// Matricules of demo patients used by the tests (see data/README.md).
const (
	mPeters     = "1990010112385" // p01
	mSchmit     = "1958041200856" // p02, legacy 19580412125
	mSchmitOld  = "19580412125"
	mMuller     = "1992061503442" // p04
	mKlein      = "1977021815655" // p16, consent withdrawn
	mSchroeder  = "19320815021"   // p22, legacy only
	mDuboisBE   = "1983030506626" // p07
	testClockAt = "2026-02-01T12:00:00Z"
)

func testNow() time.Time {
	t, _ := time.Parse(time.RFC3339, testClockAt)
	return t
}

// epBundle is a minimal HL7 Europe MPD-shaped prescription Bundle.
func epBundle(id, mrID, matricule, status string, repeats int, validityEnd string) string {
	return fmt.Sprintf(`{
  "resourceType": "Bundle",
  "id": %q,
  "type": "collection",
  "timestamp": "2026-01-20T09:30:00+01:00",
  "entry": [
    {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "MedicationRequest", "id": %q, "status": %q, "intent": "order",
      "medicationReference": {"reference": "urn:uuid:2"}, "subject": {"reference": "urn:uuid:3"},
      "dispenseRequest": {"validityPeriod": {"start": "2026-01-20", "end": %q}, "numberOfRepeatsAllowed": %d}}},
    {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Medication", "code": {"coding": [{"system": "urn:oid:1.3.182.4.13", "code": "2001096526", "display": "Augmentin 500 mg"}], "text": "Augmentin 500 mg <tablets>"}}},
    {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.3.182.4.4", "value": %q}]}},
    {"fullUrl": "urn:uuid:4", "resource": {"resourceType": "Practitioner", "name": [{"family": "Hansen", "given": ["Luc"]}]}},
    {"fullUrl": "urn:uuid:5", "resource": {"resourceType": "Organization", "name": "Cabinet médical Hansen"}}
  ]
}
`, id, mrID, status, validityEnd, repeats, matricule)
}

const psCDA = `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <title>Résumé patient</title>
  <effectiveTime value="20250717143404+0200"/>
  <recordTarget><patientRole><id root="1.3.182.4.4" extension="1990010112385"/></patientRole></recordTarget>
  <author><assignedAuthor><assignedPerson><name><given>Bob</given><family>Doctor</family></name></assignedPerson></assignedAuthor></author>
</ClinicalDocument>
`

const psJSON = `{"resourceType": "Bundle", "id": "ips-1", "type": "document", "timestamp": "2025-12-01T10:00:00+01:00",
 "entry": [
  {"resource": {"resourceType": "Composition", "title": "Patient Summary", "date": "2025-12-01T10:00:00+01:00", "author": [{"display": "Dr Anne Muller"}]}},
  {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.3.182.4.4", "value": "1958041200856"}]}}
 ]}`

// testFixtures is the real patients.json plus a few documents.
func testFixtures(t testing.TB) fstest.MapFS {
	t.Helper()
	patients, err := fs.ReadFile(Data(), "patients.json")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{
		"patients.json":                    {Data: patients},
		"eprescriptions/ep-1.json":         {Data: []byte(epBundle("ep-1", "mr-1", mPeters, "active", 0, "2026-06-30"))},
		"eprescriptions/ep-2.json":         {Data: []byte(epBundle("ep-2", "mr-2", mPeters, "active", 2, "2026-06-30"))},
		"eprescriptions/ep-expired.json":   {Data: []byte(epBundle("ep-expired", "mr-expired", mPeters, "active", 0, "2026-01-31"))},
		"eprescriptions/ep-cancelled.json": {Data: []byte(epBundle("ep-cancelled", "mr-cancelled", mPeters, "cancelled", 0, "2026-06-30"))},
		"eprescriptions/ep-legacy.json":    {Data: []byte(epBundle("ep-legacy", "mr-legacy", mSchroeder, "active", 0, "2026-06-30"))},
		"eprescriptions/ep-klein.json":     {Data: []byte(epBundle("ep-klein", "mr-klein", mKlein, "active", 0, "2026-06-30"))},
		"ps/" + mPeters + ".xml":           {Data: []byte(psCDA)},
		"ps/" + mSchmitOld + ".json":       {Data: []byte(psJSON)},
		"orcd/lab-1.pdf":                   {Data: []byte("%PDF-1.4\n% synthetic\n%%EOF\n")},
		"orcd/lab-1.json":                  {Data: []byte(`{"matricule": "1990010112385", "classCode": "11502-2", "title": "Hémogramme", "created": "2025-11-03T08:15:00+01:00", "author": "Laboratoire national de santé"}`)},
		"orcd/.keep":                       {Data: nil},
		"ps/notes.txt":                     {Data: []byte("ignored")},
	}
}
