package countryb

import (
	"context"
	"testing"

	"github.com/luxncp/luxncp/internal/wssec"
)

// TestFileSubmissionsSurviveRestart: a discard after a restart still finds
// what was sent.
func TestFileSubmissionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	want := Submitted{Country: "PT", Patient: wssec.PatientID{Extension: "123456789", Root: "2.16.620.1.101.10.1"}, Data: []byte("<ClinicalDocument/>")}
	if err := (FileSubmissions{Dir: dir}).Put(ctx, "1.2.3^ed-1", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := FileSubmissions{Dir: dir}.Get(ctx, "1.2.3^ed-1") // a new process
	if err != nil || !ok || got.Country != want.Country || got.Patient != want.Patient || string(got.Data) != string(want.Data) {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if _, ok, err := (FileSubmissions{Dir: dir}).Get(ctx, "unknown"); ok || err != nil {
		t.Fatalf("unknown id: %v %v", ok, err)
	}
}
