package national_test

import (
	"net/http/httptest"
	"testing"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
)

// searchsetBodies: the demo backend's searchsets for every resource type
// and patient of the test fixtures, and hand-made bundles for what the
// one-pass decode must not read differently: included and outcome
// entries, other resource types (fitting T or not), null, missing and
// malformed resources, wrongly typed bundle and entry fields, not a
// searchset, not JSON.
func searchsetBodies(t testing.TB) [][]byte {
	b, err := demo.New("", demo.WithFixtures(fixtures(t)))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range []string{mPeters, mKlein, mSchmitOld, "1971011007114", "0000000000000"} {
		for _, target := range []string{
			"/fhir/Patient?identifier=urn:oid:1.3.182.4.4%7C" + m,
			"/fhir/Consent?patient.identifier=urn:oid:1.3.182.4.4%7C" + m,
			"/fhir/DocumentReference?patient.identifier=urn:oid:1.3.182.4.4%7C" + m,
			"/fhir/MedicationDispense?prescription=ep-0003",
		} {
			rec := httptest.NewRecorder()
			b.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			out = append(out, rec.Body.Bytes())
		}
	}
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Consent","id":"a","status":"active","provision":{"type":"permit"},"dateTime":"2024-01-01T00:00:00Z"}},{"resource":{"resourceType":"Patient","id":"p"},"search":{"mode":"include"}},{"resource":{"resourceType":"OperationOutcome","issue":[]},"search":{"mode":"outcome"}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"p","status":{"x":1}}},{"resource":{"resourceType":"Consent","status":"active"}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":null},{"search":{"mode":"match"}},{"resource":5},{"resource":"s"},{"resource":{"resourceType":"Consent","id":7}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"DocumentReference","id":"d","content":[{"attachment":{"url":"Bundle/x"}}]}},{"resource":{"resourceType":"DocumentReference","content":"bad"}}]}`,
		`{"resourceType":"Bundle","type":"searchset","total":"many","entry":[]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":5,"resource":{"resourceType":"Consent"}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"MedicationDispense","id":"m","status":"completed","identifier":[{"system":"s","value":"v"}]}, "search":{"mode":""}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Consent","RESOURCETYPE":"Patient","ID":"dup","id":"x"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Consent"}}]}`,
		`{"resourceType":"OperationOutcome","issue":[]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":{}}`,
		`[1,2]`, `null`, ``, `{`, `<html>`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// TestSearchsetOnePass: the one-pass searchset decode answers as the
// reference (the bundle's raw entries, then each resource decoded) on
// every body, resources and errors alike.
func TestSearchsetOnePass(t *testing.T) {
	for i, b := range searchsetBodies(t) {
		if d := national.SearchsetOnePassDiffers(b); d != "" {
			t.Errorf("body %d (%.120s): %s", i, b, d)
		}
	}
}

func FuzzSearchsetOnePass(f *testing.F) {
	for _, b := range searchsetBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d := national.SearchsetOnePassDiffers(b); d != "" {
			t.Fatal(d)
		}
	})
}
