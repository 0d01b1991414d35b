package s3store

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/evidence"
)

const bucket = "luxncp-audit"

// TestPutUnderObjectLock: the evidence lands under the evidence prefix of
// the audit bucket, byte for byte, with compliance-mode Object Lock, the
// retention and an integrity check, as the audit records do.
func TestPutUnderObjectLock(t *testing.T) {
	var mu sync.Mutex
	var puts []http.Header
	inner := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path != "/"+bucket {
			mu.Lock()
			puts = append(puts, r.Header.Clone())
			mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cl := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	st, err := New(cl, Options{Bucket: bucket, Retention: 48 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e := evidence.Entry{ID: "5b1f0c7e-3f4a-4e7a-9d51-0c1e2f3a4b5c", Kind: "nro", Code: evidence.Acceptance, Event: "EHDSI-32", Time: now}
	data := []byte(`<?xml version="1.0" encoding="UTF-8"?><SubmissionAcceptanceRejection xmlns="http://uri.etsi.org/02640/v2#" version="2"/>`)
	if err := st.Put(ctx, e, data); err != nil {
		t.Fatal(err)
	}
	key := "evidence/2026/11/24/20261124T100000.000Z_nro_5b1f0c7e-3f4a-4e7a-9d51-0c1e2f3a4b5c.xml"
	if st.Key(e) != key {
		t.Fatalf("key %s", st.Key(e))
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %q", got)
	}
	if len(puts) != 1 {
		t.Fatalf("%d PUTs", len(puts))
	}
	h := puts[0]
	if h.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || h.Get("X-Amz-Object-Lock-Retain-Until-Date") != "2026-11-26T10:00:00Z" ||
		h.Get("Content-Md5") == "" || h.Get("If-None-Match") != "*" {
		t.Fatalf("PUT headers %v", h)
	}
}
