package s3sink

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
)

const bucket = "luxncp-audit"

// fakeS3 is gofakes3's in-memory S3 behind a recorder of PUT headers and a
// switch that makes every request fail with 503.
type fakeS3 struct {
	client *s3.Client
	down   atomic.Bool
	mu     sync.Mutex
	puts   []http.Header
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	inner := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "SlowDown", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPut && r.URL.Path != "/"+bucket {
			f.mu.Lock()
			f.puts = append(f.puts, r.Header.Clone())
			f.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.client = s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
	if _, err := f.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeS3) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func record(t *testing.T, i int) audit.Record {
	t.Helper()
	r := &audit.Recorder{
		Self:  audit.NCP{Country: "LU", Host: "ncp.lu.test"},
		Now:   func() time.Time { return now.Add(time.Duration(i) * time.Second) },
		NewID: func() string { return "urn:uuid:00000000-0000-4000-8000-00000000000" + string(rune('0'+i)) },
	}
	rec, err := r.Prepare(audit.Event{
		Type: audit.EventPSRetrieve, Consumer: audit.NCP{Country: "FR", Host: "ncp.fr.test"},
		Patients:  []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: "1990010112385"}},
		Documents: []string{"1.2.3.4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func options(t *testing.T, spool string) Options {
	return Options{
		Bucket: bucket, SpoolDir: spool, Retention: 24 * time.Hour,
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func TestWriteLocksObject(t *testing.T) {
	f := newFakeS3(t)
	s, err := New(context.Background(), f.client, options(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, 1)
	if err := s.Write(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	want, _ := audit.MarshalRecord(rec)
	if got := f.get(t, s.Key(rec)); !bytes.Equal(got, want) {
		t.Fatalf("object body differs from the record:\n%s", got)
	}
	if len(f.puts) != 2 { // the record, then its patient index object
		t.Fatalf("%d PUTs", len(f.puts))
	}
	for _, h := range f.puts {
		if got := h.Get("X-Amz-Object-Lock-Mode"); got != "COMPLIANCE" {
			t.Errorf("lock mode %q", got)
		}
		if got := h.Get("X-Amz-Object-Lock-Retain-Until-Date"); got != "2026-11-25T10:00:00Z" {
			t.Errorf("retain until %q", got)
		}
		if h.Get("Content-Md5") == "" {
			t.Error("no Content-MD5 (Object Lock requires an integrity check)")
		}
	}
	if n, _ := s.Pending(); n != 0 {
		t.Fatalf("%d records left in the spool", n)
	}
}

func TestOutageThenRecovery(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	s, err := New(ctx, f.client, options(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	r1 := record(t, 1)
	if err := s.Write(ctx, r1); err == nil {
		t.Fatal("Write succeeded while S3 is down")
	}
	if n, _ := s.Pending(); n != 1 {
		t.Fatalf("spool holds %d records, want 1", n)
	}
	f.down.Store(false)
	r2 := record(t, 2)
	if err := s.Write(ctx, r2); err != nil {
		t.Fatal(err)
	}
	f.get(t, s.Key(r1)) // drained after the next successful write
	f.get(t, s.Key(r2))
	if n, _ := s.Pending(); n != 0 {
		t.Fatalf("spool holds %d records after recovery", n)
	}
}

func TestAcceptSpooled(t *testing.T) {
	f := newFakeS3(t)
	opts := options(t, t.TempDir())
	opts.AcceptSpooled = true
	s, err := New(context.Background(), f.client, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	if err := s.Write(context.Background(), record(t, 1)); err != nil {
		t.Fatalf("spooled record refused: %v", err)
	}
	if n, _ := s.Pending(); n != 1 {
		t.Fatalf("spool holds %d records, want 1", n)
	}
}

// A crash with records in the spool: the next start uploads them.
func TestSpoolSurvivesRestart(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	spool := t.TempDir()
	s, err := New(ctx, f.client, options(t, spool))
	if err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	r1 := record(t, 1)
	_ = s.Write(ctx, r1)
	// The process dies; S3 comes back; a new process starts.
	f.down.Store(false)
	s2, err := New(ctx, f.client, options(t, spool))
	if err != nil {
		t.Fatal(err)
	}
	f.get(t, s2.Key(r1))
	if n, _ := s2.Pending(); n != 0 {
		t.Fatalf("spool holds %d records after restart", n)
	}
}

func TestNewRequiresBucketAndSpool(t *testing.T) {
	if _, err := New(context.Background(), nil, Options{Bucket: bucket}); err == nil {
		t.Fatal("no error without a spool dir")
	}
	if _, err := New(context.Background(), nil, Options{SpoolDir: t.TempDir()}); err == nil {
		t.Fatal("no error without a bucket")
	}
}
