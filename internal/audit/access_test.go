package audit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// accessChain writes a small history: two accesses to testPatient from
// France (one failed), one to another patient, one event without patient.
func accessChain(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &Recorder{Sink: s, Self: testLU}
	ctx := context.Background()
	e1 := baseEvent(EventPSRetrieve)
	e1.Documents = testDocs[:1]
	e2 := baseEvent(EventEPList)
	e2.Time = testTime.Add(time.Hour)
	e2.SetOutcome(ehdsi.App(ehdsi.ErrEPNoConsent, "", nil))
	other := baseEvent(EventPSList)
	other.Patients = []PatientID{{Root: ehdsi.OIDMatricule, Extension: "1893120105732"}}
	pivot := Event{Type: EventPivotTranslation, Time: testTime, TranslationInput: "x"}
	for _, e := range []Event{e1, other, e2, pivot} {
		if err := r.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPatientAccess(t *testing.T) {
	dir := accessChain(t)
	log, err := PatientAccess(context.Background(), DirReader{dir}, nil, "1990 0101 12385")
	if err != nil {
		t.Fatal(err)
	}
	acc := log.Accesses
	if len(acc) != 2 {
		t.Fatalf("%d accesses, want 2: %+v", len(acc), acc)
	}
	a := acc[0]
	if a.Event != EventPSRetrieve || a.Professional != testHCP.Name || a.Role != "Medical Doctors" ||
		a.Organisation != testHCP.Organisation || a.Country != "FR" || a.Outcome != "success" ||
		len(a.Documents) != 1 || a.Record != 1 || !a.Time.Equal(testTime) {
		t.Fatalf("first access %+v", a)
	}
	if b := acc[1]; b.Event != EventEPList || b.Outcome != "minor failure" || b.ErrorCode != string(ehdsi.ErrEPNoConsent) || b.Record != 3 {
		t.Fatalf("second access %+v", b)
	}
	if _, err := PatientAccess(context.Background(), DirReader{dir}, nil, "12345"); err == nil {
		t.Fatal("short matricule accepted")
	}
}

func TestAccessHandler(t *testing.T) {
	dir := accessChain(t)
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/audit/patients/{matricule}", AccessHandler(DirReader{dir}, nil))
	tests := []struct {
		path   string
		status int
		n      int
	}{
		{"/api/v1/audit/patients/1990010112385", 200, 2},
		{"/api/v1/audit/patients/1893120105732", 200, 1},
		{"/api/v1/audit/patients/2001010100111", 200, 0},
		{"/api/v1/audit/patients/19900101124", 400, 0},
		{"/api/v1/audit/patients/abc", 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				return
			}
			var got AccessLog
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Accesses) != tc.n || got.Accesses == nil {
				t.Fatalf("%d accesses, want %d", len(got.Accesses), tc.n)
			}
		})
	}
	w := httptest.NewRecorder()
	AccessHandler(DirReader{dir}, nil).ServeHTTP(w, httptest.NewRequest("POST", "/x/1990010112385", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", w.Code)
	}
}
