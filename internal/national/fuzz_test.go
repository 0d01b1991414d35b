package national_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/testutil"
)

// fixedBody answers every request with one status and body.
type fixedBody struct {
	status int
	body   []byte
}

func (f fixedBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(f.status)
	w.Write(f.body)
}

// FuzzResponses feeds arbitrary national responses to every Client call:
// errors are fine, panics and hangs are not.
func FuzzResponses(f *testing.F) {
	b, err := demo.New("", demo.WithFixtures(fixtures(f)))
	if err != nil {
		f.Fatal(err)
	}
	for _, target := range []string{
		"/fhir/Patient?identifier=urn:oid:1.3.182.4.4%7C" + mSchmitOld,
		"/fhir/Patient?family=Meyer",
		"/fhir/Consent?patient.identifier=urn:oid:1.3.182.4.4%7C" + mKlein,
		"/fhir/DocumentReference?patient.identifier=urn:oid:1.3.182.4.4%7C" + mPeters,
		"/fhir/Bundle/nope",
	} {
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		f.Add(rec.Code, rec.Body.Bytes())
	}
	f.Add(200, []byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"DocumentReference","content":[{"attachment":{"url":"x","creation":"bad"}}]}}]}`))
	f.Add(200, []byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Consent","status":"active","provision":{"type":"permit"},"dateTime":"2024"}}]}`))
	f.Add(503, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		c, err := national.NewClient("http://national.test/fhir",
			national.WithHTTPClient(&http.Client{Transport: testutil.InProcess{Handler: fixedBody{status, body}}}),
			national.WithRetries(0, 0, 0), national.WithTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ps, err := c.FindPatients(ctx, national.PatientQuery{Matricule: mPeters})
		if err == nil && status >= 300 {
			t.Fatalf("HTTP %d accepted", status)
		}
		for _, p := range ps {
			_ = p.Matricule
		}
		c.Consent(ctx, mPeters)
		refs, _ := c.ListDocuments(ctx, mPeters, "")
		for _, r := range refs {
			c.Fetch(ctx, r)
		}
		c.RecordDispense(ctx, national.Dispense{Key: "k", PrescriptionID: "p", Resource: body})
	})
}

func BenchmarkFindPatientInProcess(b *testing.B) {
	be, err := demo.New("", demo.WithFixtures(fixtures(b)))
	if err != nil {
		b.Fatal(err)
	}
	c, err := national.NewClient("http://national.test/fhir", national.WithHTTPClient(&http.Client{Transport: testutil.InProcess{Handler: be}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ps, err := c.FindPatients(ctx, national.PatientQuery{Matricule: mSchmit})
		if err != nil || len(ps) != 1 {
			b.Fatal(ps, err)
		}
	}
}

func BenchmarkFindPatientHTTP(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.client.FindPatients(ctx, national.PatientQuery{Matricule: mSchmit}); err != nil {
			b.Fatal(err)
		}
	}
}
