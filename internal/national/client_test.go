package national_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
)

const (
	mPeters    = "1990010112385" // p01
	mSchmit    = "1958041200856" // p02
	mSchmitOld = "19580412125"
	mKlein     = "1977021815655" // p16, consent withdrawn
	mSchroeder = "19320815021"   // p22, legacy only
	mFrisch    = "2001010118116" // p26, no information
)

func fixtures(t testing.TB) fstest.MapFS {
	t.Helper()
	patients, err := fsReadFile(demo.Data(), "patients.json")
	if err != nil {
		t.Fatal(err)
	}
	ep := func(id, repeats string) []byte {
		return []byte(`{"resourceType":"Bundle","id":"` + id + `","type":"collection","timestamp":"2026-01-20T09:30:00+01:00","entry":[
 {"resource":{"resourceType":"MedicationRequest","id":"mr-` + id + `","status":"active","intent":"order","dispenseRequest":{"numberOfRepeatsAllowed":` + repeats + `}}},
 {"resource":{"resourceType":"Medication","code":{"text":"Euthyrox 100 µg"}}},
 {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.3.182.4.4","value":"1990010112385"}]}}]}`)
	}
	return fstest.MapFS{
		"patients.json":            {Data: patients},
		"eprescriptions/ep-a.json": {Data: ep("ep-a", "0")},
		"eprescriptions/ep-b.json": {Data: ep("ep-b", "1")},
		"orcd/img-1.pdf":           {Data: []byte("%PDF-1.7\n%%EOF\n")},
		"orcd/img-1.json":          {Data: []byte(`{"matricule":"1990010112385","classCode":"18748-4","title":"IRM du genou","created":"2025-10-01T11:00:00+02:00","author":"Centre hospitalier"}`)},
	}
}

type env struct {
	backend *demo.Backend
	srv     *httptest.Server
	client  *national.Client
}

func newEnv(t testing.TB, opts ...national.ClientOption) *env {
	t.Helper()
	b, err := demo.New(t.TempDir(), demo.WithFixtures(fixtures(t)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(func() { srv.Close(); b.Close() })
	c, err := national.NewClient(srv.URL+"/fhir", append([]national.ClientOption{
		national.WithHTTPClient(srv.Client()), national.WithRetries(2, time.Millisecond, 5*time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{b, srv, c}
}

func TestFindPatients(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		q       national.PatientQuery
		want    []string // Matricule of each match
		wantErr error
	}{
		{"13 digits", national.PatientQuery{Matricule: mPeters}, []string{mPeters}, nil},
		{"13 digits with spaces", national.PatientQuery{Matricule: "1990 0101 123 85"}, []string{mPeters}, nil},
		{"11 digits of a patient with both", national.PatientQuery{Matricule: mSchmitOld}, []string{mSchmit}, nil},
		{"legacy only", national.PatientQuery{Matricule: mSchroeder}, []string{mSchroeder}, nil},
		{"no match", national.PatientQuery{Matricule: "1990010112392"}, []string{}, nil},
		{"multiple match", national.PatientQuery{Family: "Meyer", BirthDate: "1980-01-01", Gender: "male"}, []string{"1980010100595", "1980010101744"}, nil},
		{"identical demographics", national.PatientQuery{Family: "Pereira", Given: "Maria", BirthDate: "1995-06-06", Gender: "female"}, []string{"1995060602849", "1995060621404"}, nil},
		{"narrowed by given", national.PatientQuery{Family: "Meyer", Given: "Mike", BirthDate: "1980-01-01"}, []string{"1980010101744"}, nil},
		{"no criteria", national.PatientQuery{Family: "Meyer"}, nil, national.ErrBadQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.client.FindPatients(context.Background(), tt.q)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			var ms []string
			for _, p := range got {
				ms = append(ms, p.Matricule)
			}
			if strings.Join(ms, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", ms, tt.want)
			}
		})
	}
	got, err := e.client.FindPatients(context.Background(), national.PatientQuery{Matricule: mSchmitOld})
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	want := national.Patient{Matricule: mSchmit, LegacyMatricule: mSchmitOld, Given: []string{"Marie", "Josée"}, Family: "Schmit",
		BirthDate: "1958-04-12", Gender: "female", Phone: "+352 621 100 102", Email: "marie.schmit@example.lu",
		Address: national.Address{Lines: []string{"12 rue de l'Alzette"}, City: "Esch-sur-Alzette", PostalCode: "4011", Country: "LU"}}
	if g, w := mustJSON(got[0]), mustJSON(want); g != w {
		t.Fatalf("got %s\nwant %s", g, w)
	}
	legacy, _ := e.client.FindPatients(context.Background(), national.PatientQuery{Matricule: mSchroeder})
	if legacy[0].LegacyMatricule != mSchroeder {
		t.Fatalf("legacy-only patient: %+v", legacy[0])
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestConsent(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		m       string
		allowed bool
		wantErr error
	}{
		{mPeters, true, nil},
		{mKlein, false, nil},
		{"1991071114454", false, nil}, // p15 withdrawn
		{mSchroeder, true, nil},       // legacy only
		{"1990010112392", false, national.ErrNotFound},
	} {
		c, err := e.client.Consent(context.Background(), tt.m)
		if !errors.Is(err, tt.wantErr) || c.CrossBorder != tt.allowed {
			t.Errorf("%s: %+v %v", tt.m, c, err)
		}
		if err == nil && c.Updated.IsZero() {
			t.Errorf("%s: no update time", tt.m)
		}
	}
}

func TestDocuments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	all, err := e.client.ListDocuments(ctx, mPeters, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("%+v %v", all, err)
	}
	eps, err := e.client.ListDocuments(ctx, mPeters, "57833-6")
	if err != nil || len(eps) != 2 || eps[0].ID != "ep-a" || eps[0].URL != "Bundle/ep-a" || eps[0].Title != "Euthyrox 100 µg" ||
		eps[0].ClassCode != "57833-6" || eps[0].ContentType != "application/fhir+json" || eps[0].Status != "current" || eps[0].Matricule != mPeters {
		t.Fatalf("%+v %v", eps, err)
	}
	body, ct, err := e.client.Fetch(ctx, eps[0])
	if err != nil || ct != "application/fhir+json" || !strings.Contains(string(body), `"id":"ep-a"`) {
		t.Fatalf("%s %.80s %v", ct, body, err)
	}
	imgs, _ := e.client.ListDocuments(ctx, mPeters, "18748-4")
	if len(imgs) != 1 || imgs[0].Author != "Centre hospitalier" || imgs[0].Created.IsZero() {
		t.Fatalf("%+v", imgs)
	}
	pdf, ct, err := e.client.Fetch(ctx, imgs[0])
	if err != nil || ct != "application/pdf" || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatal(ct, err)
	}
	none, err := e.client.ListDocuments(ctx, mFrisch, "60591-5")
	if err != nil || len(none) != 0 {
		t.Fatal(none, err)
	}
	for _, bad := range []string{"Bundle/nope", "https://elsewhere.example/x", "/etc/passwd", "../x"} {
		if _, _, err := e.client.Fetch(ctx, national.DocumentRef{URL: bad}); err == nil {
			t.Errorf("Fetch(%s) succeeded", bad)
		}
	}
	if _, _, err := e.client.Fetch(ctx, national.DocumentRef{URL: "Bundle/nope"}); !errors.Is(err, national.ErrNotFound) {
		t.Errorf("Fetch unknown: %v", err)
	}
}

func countDispenses(t *testing.T, e *env, presc string) int {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + "/fhir/MedicationDispense?prescription=" + presc)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Total int }
	json.NewDecoder(resp.Body).Decode(&b)
	return b.Total
}

func TestDispense(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := national.Dispense{Key: "eD-1", PrescriptionID: "mr-ep-b", Matricule: mPeters,
		Resource: []byte(`{"resourceType":"MedicationDispense","status":"completed","whenHandedOver":"2026-02-01T10:00:00+01:00"}`)}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { errs[i] = e.client.RecordDispense(ctx, d) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := countDispenses(t, e, "ep-b"); n != 1 {
		t.Fatalf("%d effects after concurrent identical creates, want 1", n)
	}
	// ep-b allows 1 repeat: a second key completes it, a third conflicts.
	if err := e.client.RecordDispense(ctx, national.Dispense{Key: "eD-2", PrescriptionID: "ep-b", Matricule: mPeters}); err != nil {
		t.Fatal(err)
	}
	if err := e.client.RecordDispense(ctx, national.Dispense{Key: "eD-3", PrescriptionID: "ep-b", Matricule: mPeters}); !errors.Is(err, national.ErrConflict) {
		t.Fatalf("third dispense: %v, want ErrConflict", err)
	}
	if err := e.client.RecordDispense(ctx, national.Dispense{Key: "eD-4", PrescriptionID: "ep-a", Matricule: mKlein}); !errors.Is(err, national.ErrConflict) {
		t.Fatalf("other patient: %v, want ErrConflict", err)
	}
	if err := e.client.RecordDispense(ctx, national.Dispense{Key: "eD-5", PrescriptionID: "nope", Matricule: mPeters}); !errors.Is(err, national.ErrNotFound) {
		t.Fatalf("unknown prescription: %v, want ErrNotFound", err)
	}
	// Cancel twice: one effect; the prescription is dispensable again.
	for i := 0; i < 2; i++ {
		if err := e.client.CancelDispense(ctx, "eD-2"); err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
	}
	if err := e.client.RecordDispense(ctx, national.Dispense{Key: "eD-6", PrescriptionID: "ep-b", Matricule: mPeters}); err != nil {
		t.Fatalf("dispense after cancel: %v", err)
	}
	if err := e.client.CancelDispense(ctx, "never"); !errors.Is(err, national.ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
	if n := countDispenses(t, e, "ep-b"); n != 3 {
		t.Fatalf("%d dispense records, want 3 (one cancelled)", n)
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("503", func(t *testing.T) {
		e := newEnv(t)
		e.backend.SetFaults(demo.Faults{Unavailable: true})
		_, err := e.client.FindPatients(ctx, national.PatientQuery{Matricule: mPeters})
		if !errors.Is(err, national.ErrUnavailable) || strings.Contains(err.Error(), mPeters) {
			t.Fatalf("%v", err)
		}
		if err := e.client.RecordDispense(ctx, national.Dispense{Key: "k", PrescriptionID: "ep-a", Matricule: mPeters}); !errors.Is(err, national.ErrUnavailable) {
			t.Fatalf("dispense: %v", err)
		}
	})
	t.Run("transient 503 is retried", func(t *testing.T) {
		e := newEnv(t)
		e.backend.SetFaults(demo.Faults{FailNext: 2})
		if _, err := e.client.FindPatients(ctx, national.PatientQuery{Matricule: mPeters}); err != nil {
			t.Fatalf("2 failures within 2 retries: %v", err)
		}
	})
	t.Run("write is not retried", func(t *testing.T) {
		e := newEnv(t)
		e.backend.SetFaults(demo.Faults{FailNext: 1})
		if err := e.client.RecordDispense(ctx, national.Dispense{Key: "k", PrescriptionID: "ep-a", Matricule: mPeters}); !errors.Is(err, national.ErrUnavailable) {
			t.Fatalf("%v", err)
		}
		if err := e.client.RecordDispense(ctx, national.Dispense{Key: "k", PrescriptionID: "ep-a", Matricule: mPeters}); err != nil {
			t.Fatalf("caller's retry: %v", err)
		}
	})
	t.Run("slow backend", func(t *testing.T) {
		e := newEnv(t, national.WithTimeout(50*time.Millisecond))
		e.backend.SetFaults(demo.Faults{Delay: 10 * time.Second})
		_, err := e.client.Consent(ctx, mPeters)
		if !errors.Is(err, national.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c, _ := national.NewClient(url+"/fhir", national.WithRetries(1, time.Millisecond, time.Millisecond))
		if _, err := c.ListDocuments(ctx, mPeters, ""); !errors.Is(err, national.ErrUnavailable) {
			t.Fatalf("%v", err)
		}
	})
}

func TestNewClientRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/fhir", "127.0.0.1:8081/fhir", "http:///fhir"} {
		if _, err := national.NewClient(u); err == nil {
			t.Errorf("NewClient(%q) succeeded", u)
		}
	}
}

// TestDefaultClientKeepsConnections: the default client keeps its
// connections to the backend under concurrent calls with gaps between them
// (net/http's default of 2 idle connections per host closed the others
// after use: a new connection for most calls here). 16 callers hold at most 2 connections each (one in
// use, one being returned to the pool), so at most 32 are ever opened.
func TestDefaultClientKeepsConnections(t *testing.T) {
	b, err := demo.New(t.TempDir(), demo.WithFixtures(fixtures(t)))
	if err != nil {
		t.Fatal(err)
	}
	var opened atomic.Int64
	// Each answer waits a little, so that the callers' calls overlap.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		b.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() { srv.Close(); b.Close() })
	c, err := national.NewClient(srv.URL + "/fhir")
	if err != nil {
		t.Fatal(err)
	}
	const callers, calls = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, callers*calls)
	for range callers {
		wg.Go(func() {
			for range calls {
				if _, err := c.Consent(context.Background(), mPeters); err != nil {
					errs <- err
				}
				time.Sleep(time.Millisecond) // a gap, as between a gateway's requests

			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := opened.Load(); n > 2*callers {
		t.Errorf("%d connections opened for %d calls by %d callers, want at most %d", n, callers*calls, callers, 2*callers)
	}
}
