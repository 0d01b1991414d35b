package demo

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/luxncp/luxncp/internal/national/fhirr4"
	"github.com/luxncp/luxncp/internal/testutil"
)

func newTest(t *testing.T, stateDir string, opts ...Option) *Backend {
	t.Helper()
	b, err := New(stateDir, append([]Option{WithFixtures(testFixtures(t)), WithClock(testNow)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://national.test"+target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func total(t *testing.T, body []byte) (int, []string) {
	t.Helper()
	var b fhirr4.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var ids []string
	for _, e := range b.Entry {
		var h fhirr4.ResourceHeader
		json.Unmarshal(e.Resource, &h)
		ids = append(ids, h.ID)
	}
	if b.Total == nil || *b.Total != len(ids) || b.Type != "searchset" {
		t.Fatalf("bad searchset: %s", body)
	}
	return len(ids), ids
}

func TestEmbeddedFixturesLoad(t *testing.T) {
	b, err := New("")
	if err != nil {
		t.Fatalf("the committed fixtures under data/ do not load: %v", err)
	}
	defer b.Close()
	if len(b.ix.patients) < 30 {
		t.Fatalf("%d patients", len(b.ix.patients))
	}
}

func TestPatientSearch(t *testing.T) {
	b := newTest(t, "")
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"13 digits", "identifier=urn:oid:1.3.182.4.4|" + mPeters, "p01"},
		{"13 digits no system", "identifier=" + mPeters, "p01"},
		{"legacy of a patient with both", "identifier=urn:oid:1.3.182.4.4|" + mSchmitOld, "p02"},
		{"legacy only", "identifier=urn:oid:1.3.182.4.4|" + mSchroeder, "p22"},
		{"unknown", "identifier=urn:oid:1.3.182.4.4|1990010112392", ""},
		{"wrong system", "identifier=urn:oid:1.2.3|" + mPeters, ""},
		{"DSP id", "identifier=urn:oid:1.3.182.2.4.2|8729593390", "p01"},
		{"pair A", "family=Meyer&birthdate=1980-01-01&gender=male", "p18,p19"},
		{"pair A narrowed", "family=meyer&given=Marc&birthdate=1980-01-01&gender=male", "p18"},
		{"pair B", "family=Pereira&given=Maria&birthdate=1995-06-06&gender=female", "p20,p21"},
		{"accent-insensitive", "family=goncalves&birthdate=1991-07-11", "p15"},
		{"unknown day", "family=Osmani&birthdate=1978-06", "p25"},
		{"id and demographics agree", "identifier=" + mPeters + "&family=Peters", "p01"},
		{"id and demographics disagree", "identifier=" + mPeters + "&family=Schmit", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := do(t, b, "GET", "/fhir/Patient?"+strings.ReplaceAll(tt.query, "|", "%7C"), "")
			if code != 200 || hdr.Get("Content-Type") != "application/fhir+json" {
				t.Fatalf("%d %s", code, body)
			}
			_, ids := total(t, body)
			if got := strings.Join(ids, ","); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGoldenResponses(t *testing.T) {
	b := newTest(t, "")
	for name, target := range map[string]string{
		"patient_p01.json":      "/fhir/Patient?identifier=urn:oid:1.3.182.4.4%7C" + mPeters,
		"consent_p16.json":      "/fhir/Consent?patient.identifier=urn:oid:1.3.182.4.4%7C" + mKlein,
		"documents_p01.json":    "/fhir/DocumentReference?patient.identifier=urn:oid:1.3.182.4.4%7C" + mPeters,
		"operationoutcome.json": "/fhir/Bundle/nope",
	} {
		_, _, body := do(t, b, "GET", target, "")
		_, _, again := do(t, b, "GET", target, "")
		if !bytes.Equal(body, again) {
			t.Errorf("%s: not deterministic", name)
		}
		var pretty bytes.Buffer
		json.Indent(&pretty, body, "", "  ")
		testutil.Golden(t, name, pretty.Bytes())
	}
}

func TestDocuments(t *testing.T) {
	b := newTest(t, "")
	q := "/fhir/DocumentReference?patient.identifier=urn:oid:1.3.182.4.4%7C"
	for _, tt := range []struct {
		target string
		want   string
	}{
		{q + mPeters, "ps-1990010112385-cda,orcd-lab-1,ep-1,ep-2,ep-cancelled,ep-expired"},
		{q + mPeters + "&type=http://loinc.org%7C57833-6", "ep-1,ep-2,ep-cancelled,ep-expired"},
		{q + mPeters + "&type=60591-5", "ps-1990010112385-cda"},
		{q + mSchmit + "&type=http://loinc.org%7C60591-5", "ps-19580412125"},
		{q + mSchmitOld, "ps-19580412125"},
		{q + mSchroeder, "ep-legacy"},
		{q + mMuller, ""},
		{"/fhir/DocumentReference?patient=Patient/p01&type=11502-2", "orcd-lab-1"},
	} {
		code, _, body := do(t, b, "GET", tt.target, "")
		if code != 200 {
			t.Fatalf("%s: %d %s", tt.target, code, body)
		}
		if _, ids := total(t, body); strings.Join(ids, ",") != tt.want {
			t.Errorf("%s: got %v, want %s", tt.target, ids, tt.want)
		}
	}
	for _, tt := range []struct{ path, ctype, prefix string }{
		{"/fhir/Binary/orcd-lab-1", "application/pdf", "%PDF-"},
		{"/fhir/Binary/ps-1990010112385-cda", "application/xml", "<?xml"},
		{"/fhir/Bundle/ep-1", "application/fhir+json", `{"resourceType":"Bundle","id":"ep-1"`},
		{"/fhir/Bundle/ps-19580412125", "application/fhir+json", `{"resourceType":"Bundle"`},
	} {
		code, hdr, body := do(t, b, "GET", tt.path, "")
		if code != 200 || hdr.Get("Content-Type") != tt.ctype || !bytes.HasPrefix(body, []byte(tt.prefix)) {
			t.Errorf("%s: %d %s %.60s", tt.path, code, hdr.Get("Content-Type"), body)
		}
	}
	if code, _, _ := do(t, b, "GET", "/fhir/Binary/ep-1", ""); code != 404 {
		t.Errorf("Binary/ep-1: %d, want 404 (it is a Bundle)", code)
	}
	if code, _, _ := do(t, b, "GET", "/fhir/DocumentReference", ""); code != 400 {
		t.Errorf("DocumentReference without patient: %d, want 400", code)
	}
}

func dispenseBody(presc, matricule string) string {
	return `{"resourceType":"MedicationDispense","status":"completed","subject":{"identifier":{"system":"urn:oid:1.3.182.4.4","value":"` +
		matricule + `"}},"authorizingPrescription":[{"reference":"MedicationRequest/` + presc + `"}],"whenHandedOver":"2026-02-01T10:00:00+01:00"}`
}

func create(t *testing.T, h http.Handler, key, presc, matricule string) (int, []byte) {
	t.Helper()
	code, _, body := do(t, h, "POST", "/fhir/MedicationDispense", dispenseBody(presc, matricule),
		"Content-Type", "application/fhir+json", "If-None-Exist", "identifier=urn:luxncp:fhir:dispense-key|"+key)
	return code, body
}

func mrStatus(t *testing.T, h http.Handler, bundle string) string {
	t.Helper()
	_, _, body := do(t, h, "GET", "/fhir/Bundle/"+bundle, "")
	var bd fhirr4.Bundle
	if err := json.Unmarshal(body, &bd); err != nil {
		t.Fatal(err)
	}
	var mr struct{ Status string }
	json.Unmarshal(bd.Entry[0].Resource, &mr)
	return mr.Status
}

func countDispenses(t *testing.T, h http.Handler, presc string) int {
	t.Helper()
	_, _, body := do(t, h, "GET", "/fhir/MedicationDispense?prescription="+presc, "")
	n, _ := total(t, body)
	return n
}

func TestDispense(t *testing.T) {
	b := newTest(t, t.TempDir())
	if code, body := create(t, b, "k1", "mr-1", mPeters); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	code, first := create(t, b, "k1", "mr-1", mPeters)
	if code != 200 {
		t.Fatalf("replayed create: %d %s", code, first)
	}
	if n := countDispenses(t, b, "ep-1"); n != 1 {
		t.Fatalf("%d dispenses, want 1", n)
	}
	if s := mrStatus(t, b, "ep-1"); s != "completed" {
		t.Fatalf("status %s, want completed", s)
	}
	for _, tt := range []struct {
		name, key, presc, who string
		want                  int
		diag                  string
	}{
		{"fully dispensed", "k2", "mr-1", mPeters, 409, "fully dispensed"},
		{"expired", "k3", "mr-expired", mPeters, 409, "expired"},
		{"cancelled", "k4", "ep-cancelled", mPeters, 409, "status cancelled"},
		{"other patient", "k5", "mr-2", mMuller, 409, "another patient"},
		{"unknown", "k6", "mr-nope", mPeters, 404, "not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := create(t, b, tt.key, tt.presc, tt.who)
			if code != tt.want || !strings.Contains(string(body), tt.diag) || !strings.Contains(string(body), "OperationOutcome") {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
	// Repeats: 1 + 2 dispenses complete mr-2.
	for i, k := range []string{"r1", "r2", "r3"} {
		if s := mrStatus(t, b, "ep-2"); s != "active" {
			t.Fatalf("before dispense %d: %s", i, s)
		}
		if code, body := create(t, b, k, "ep-2", mPeters); code != 201 {
			t.Fatalf("%d %s", code, body)
		}
	}
	if s := mrStatus(t, b, "ep-2"); s != "completed" {
		t.Fatalf("after 3 dispenses: %s", s)
	}
	// Cancel twice: one effect, prescription dispensable again.
	cancel := `{"resourceType":"MedicationDispense","status":"entered-in-error"}`
	for i := 0; i < 2; i++ {
		code, _, body := do(t, b, "PUT", "/fhir/MedicationDispense?identifier=urn:luxncp:fhir:dispense-key%7Cr3", cancel)
		if code != 200 || !strings.Contains(string(body), `"status":"entered-in-error"`) {
			t.Fatalf("cancel %d: %d %s", i, code, body)
		}
	}
	if s := mrStatus(t, b, "ep-2"); s != "active" {
		t.Fatalf("after cancel: %s", s)
	}
	if code, _, _ := do(t, b, "PUT", "/fhir/MedicationDispense?identifier=urn:luxncp:fhir:dispense-key%7Cnope", cancel); code != 404 {
		t.Fatalf("cancel unknown: %d", code)
	}
	if code, _, _ := do(t, b, "PUT", "/fhir/MedicationDispense?identifier=urn:luxncp:fhir:dispense-key%7Cr1", `{"resourceType":"MedicationDispense","status":"completed"}`); code != 422 {
		t.Fatalf("update to another status: %d", code)
	}
	if code, _, _ := do(t, b, "POST", "/fhir/MedicationDispense", dispenseBody("mr-2", mPeters)); code != 400 {
		t.Fatalf("create without key: %d", code)
	}
}

func TestDispenseDurableAndConcurrent(t *testing.T) {
	dir := t.TempDir()
	b := newTest(t, dir)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i], _ = create(t, b, "same-key", "mr-2", mPeters) })
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		} else if c != 200 {
			t.Fatalf("codes %v", codes)
		}
	}
	if created != 1 || countDispenses(t, b, "mr-2") != 1 {
		t.Fatalf("codes %v, %d dispenses", codes, countDispenses(t, b, "mr-2"))
	}
	create(t, b, "k-1", "mr-1", mPeters)
	do(t, b, "PUT", "/fhir/MedicationDispense?identifier=urn:luxncp:fhir:dispense-key%7Csame-key", `{"resourceType":"MedicationDispense","status":"entered-in-error"}`)
	b.Close()

	// A torn, unacknowledged last line (crash while appending) is dropped.
	f, err := os.OpenFile(filepath.Join(dir, StateFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"op":"create","key":"torn`)
	f.Close()

	b2 := newTest(t, dir)
	if s := mrStatus(t, b2, "ep-1"); s != "completed" {
		t.Fatalf("after restart ep-1 is %s", s)
	}
	if code, _ := create(t, b2, "k-1", "mr-1", mPeters); code != 200 {
		t.Fatalf("replay after restart: %d", code)
	}
	_, _, body := do(t, b2, "GET", "/fhir/MedicationDispense?identifier=urn:luxncp:fhir:dispense-key%7Csame-key", "")
	if !strings.Contains(string(body), "entered-in-error") {
		t.Fatalf("cancel lost over restart: %s", body)
	}
	if code, body := create(t, b2, "after", "mr-2", mPeters); code != 201 {
		t.Fatalf("append after truncation: %d %s", code, body)
	}
	b2.Close()
	b3 := newTest(t, dir)
	if n := countDispenses(t, b3, "mr-2"); n != 2 {
		t.Fatalf("%d dispenses of mr-2 after second restart, want 2", n)
	}
}

func TestFaults(t *testing.T) {
	b := newTest(t, "", WithFaults(Faults{FailNext: 2}))
	for i, want := range []int{503, 503, 200} {
		if code, _, body := do(t, b, "GET", "/fhir/Patient/p01", ""); code != want {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	b.SetFaults(Faults{Unavailable: true})
	if code, _, body := do(t, b, "GET", "/fhir/Patient/p01", ""); code != 503 || !strings.Contains(string(body), "transient") {
		t.Fatalf("%d %s", code, body)
	}
	b.SetFaults(Faults{Delay: time.Hour})
	req := httptest.NewRequest("GET", "/fhir/Patient/p01", nil)
	ctx, cancel := contextWithCancel(req)
	cancel()
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, req.WithContext(ctx)) // returns at once: the request is cancelled
}

func TestBadFixtures(t *testing.T) {
	good := testFixtures(t)
	for _, tt := range []struct {
		name, file, data, want string
	}{
		{"bad json", "eprescriptions/ep-x.json", "{", "eprescriptions/ep-x.json"},
		{"id mismatch", "eprescriptions/ep-x.json", epBundle("ep-y", "mr-x", mPeters, "active", 0, "2026-06-30"), "file name"},
		{"unknown patient", "eprescriptions/ep-x.json", epBundle("ep-x", "mr-x", "1990010112392", "active", 0, "2026-06-30"), "not in patients.json"},
		{"duplicate MR id", "eprescriptions/ep-x.json", epBundle("ep-x", "mr-1", mPeters, "active", 0, "2026-06-30"), "also used"},
		{"ps unknown matricule", "ps/1990010112392.xml", psCDA, "ps/1990010112392.xml"},
		{"ps wrong patient", "ps/" + mMuller + ".xml", psCDA, "does not name"},
		{"pdf without sidecar", "orcd/x.pdf", "%PDF-1.4", "orcd/x.pdf"},
		{"bad class", "orcd/lab-1.json", `{"matricule":"1990010112385","classCode":"1-1","title":"t","created":"2025-11-03T08:15:00Z"}`, "classCode"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range good {
				fsys[k] = v
			}
			fsys[tt.file] = &fstest.MapFile{Data: []byte(tt.data)}
			_, err := New("", WithFixtures(fsys))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

// FuzzHandler sends arbitrary requests: errors are fine, panics and 500s are not.
func FuzzHandler(f *testing.F) {
	f.Add("GET", "/fhir/Patient?identifier=urn:oid:1.3.182.4.4%7C"+mPeters, "", "")
	f.Add("GET", "/fhir/Patient?family=M%C3%BCller&birthdate=eq1980", "", "")
	f.Add("GET", "/fhir/DocumentReference?patient.identifier=%7C&type=%7C%7C", "", "")
	f.Add("POST", "/fhir/MedicationDispense", dispenseBody("mr-1", mPeters), "identifier=urn:luxncp:fhir:dispense-key|k")
	f.Add("POST", "/fhir/MedicationDispense", `{"resourceType":"MedicationDispense","authorizingPrescription":[{}]}`, "identifier=urn:luxncp:fhir:dispense-key|k")
	f.Add("PUT", "/fhir/MedicationDispense?identifier=urn:luxncp:fhir:dispense-key%7Ck", `{"resourceType":"MedicationDispense","status":"entered-in-error"}`, "")
	f.Add("GET", "/fhir/Bundle/ep-2", "", "")
	b, err := New("", WithFixtures(testFixtures(f)), WithClock(testNow))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, body, ifNoneExist string) {
		if !strings.HasPrefix(target, "/") {
			return
		}
		req, err := http.NewRequest(method, "http://national.test"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("If-None-Exist", ifNoneExist)
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, target, rec.Code, rec.Body.Bytes())
		}
		if !json.Valid(rec.Body.Bytes()) && rec.Header().Get("Content-Type") == "application/fhir+json" {
			t.Fatalf("invalid JSON: %s", rec.Body.Bytes())
		}
	})
}

func BenchmarkPatientSearch(b *testing.B) {
	be, err := New("", WithFixtures(testFixtures(b)))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/fhir/Patient?identifier=urn:oid:1.3.182.4.4%7C"+mSchmitOld, nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		be.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
