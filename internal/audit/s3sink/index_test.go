package s3sink

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
)

// TestAccessLogReadsWhatTheSinkWrote: the access log of a host whose sink
// is S3 lists the records the sink wrote (gofakes3), whatever form of the
// matricule the caller used, recorded while S3 was down and uploaded from
// the spool too; object keys carry no matricule.
func TestAccessLogReadsWhatTheSinkWrote(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	s, err := New(ctx, f.client, options(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	r1 := record(t, 1)
	f.down.Store(true) // the second record waits in the spool
	r2 := record(t, 2)
	r2.Event.Patients = []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: "1990.0101.12385"}}
	r2.Event.Patient = ""
	if err := s.Write(ctx, r2); err == nil {
		t.Fatal("write while S3 is down: no error")
	}
	f.down.Store(false)
	other := record(t, 3)
	other.Event.Patient, other.Event.Patients = "1893120105732", []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: "1893120105732"}}
	for _, r := range []audit.Record{r1, other} {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	log, err := audit.PatientAccess(ctx, s, nil, "1990 0101 12385")
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Accesses) != 2 || log.Accesses[0].RecordID != r1.ID || log.Accesses[1].RecordID != r2.ID {
		t.Fatalf("access log %+v, want records 1 and 2", log.Accesses)
	}
	out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		if k := aws.ToString(o.Key); strings.Contains(k, "1990010112385") {
			t.Errorf("object key %s names the patient", k)
		}
	}
}
