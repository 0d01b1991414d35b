package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/routing"
)

const bucket = "luxncp-config"

var now = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

type env struct {
	s3   *s3.Client
	puts atomic.Int64
	out  bytes.Buffer
	m    *maintenance
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{}
	inner := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/directory/directory.json") {
			e.puts.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.s3 = s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	if _, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	awsEnv, err := node.LoadAWSEnv(func(k string) string {
		return map[string]string{"LUXNCP_CONFIG_BUCKET": bucket, "LUXNCP_CERT_WARN_DAYS": "30"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	// A TTL of a nanosecond: every read goes to S3, as on a daily schedule.
	store, err := awsconfig.New(e.s3, awsconfig.Options{Bucket: bucket, TTL: time.Nanosecond, StaleFor: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	e.m = &maintenance{config: store, put: e.s3, bucket: bucket, env: awsEnv, now: func() time.Time { return now },
		out: &e.out, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return e
}

func (e *env) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b
}

// certPEM is a synthetic certificate expiring days after now.
func certPEM(t *testing.T, cn, cc string, days float64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Country: []string{cc}},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(time.Duration(days * 24 * float64(time.Hour))),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// directory returns a directory document (indented differently from the
// canonical form, to show the refresh republishes it canonically).
func directory(t *testing.T, certDays float64, ccs ...string) []byte {
	t.Helper()
	f := routing.File{Version: 1}
	for _, cc := range ccs {
		f.Countries = append(f.Countries, routing.Country{Code: cc, HomeCommunityID: "2.16.17.710.790.1000.990.1",
			Endpoints: []routing.Endpoint{{Transaction: "ITI-55", URL: "https://ncp." + strings.ToLower(cc) + ".example/XCPD_Service",
				Certificate: string(certPEM(t, "ncp."+strings.ToLower(cc), cc, certDays))}}})
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDirectoryRefresh(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := Event{Task: "directory-refresh"}
	if res, err := e.m.handle(ctx, ev); err != nil || res.Status != "no-source" {
		t.Fatalf("no incoming document: %+v, %v", res, err)
	}
	e.put(t, "directory/incoming.json", directory(t, 200, "FR", "BE"))
	res, err := e.m.handle(ctx, ev)
	if err != nil || res.Status != "published" || res.Countries != 2 {
		t.Fatalf("first refresh: %+v, %v", res, err)
	}
	published := e.get(t, "directory/directory.json")
	st, err := routing.Parse(published)
	if err != nil {
		t.Fatalf("published directory does not parse: %v", err)
	}
	if canon, _ := st.Marshal(); !bytes.Equal(canon, published) {
		t.Error("published directory is not in canonical form")
	}
	if res, err := e.m.handle(ctx, ev); err != nil || res.Status != "unchanged" || e.puts.Load() != 1 {
		t.Fatalf("second refresh: %+v, %v, %d puts", res, err, e.puts.Load())
	}
	// Invalid documents are refused and the published one kept.
	for _, bad := range [][]byte{[]byte(`{"version":1,"countries":[]}`), []byte(`{"version":1,"countries":[{"country":"FRA"}]}`), []byte(`not json`)} {
		e.put(t, "directory/incoming.json", bad)
		if res, err := e.m.handle(ctx, ev); err == nil || res.Status != "invalid" {
			t.Errorf("%s: %+v, %v", bad, res, err)
		}
	}
	if !bytes.Equal(e.get(t, "directory/directory.json"), published) {
		t.Error("an invalid refresh changed the published directory")
	}
	// An https source.
	doc := directory(t, 200, "DE")
	src := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
	defer src.Close()
	e.m.source, e.m.http = src.URL+"/directory.json", src.Client()
	if res, err := e.m.handle(ctx, ev); err != nil || res.Status != "published" || res.Countries != 1 {
		t.Fatalf("https source: %+v, %v", res, err)
	}
}

func TestCertificateExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := Event{Task: "certificate-expiry"}
	if _, err := e.m.handle(ctx, ev); err == nil {
		t.Fatal("no certificates at all: no error")
	}
	e.out.Reset()
	e.put(t, "certificates/seal.pem", certPEM(t, "seal.ncp.lu", "LU", 400))
	e.put(t, "certificates/tls-client.pem", certPEM(t, "ncp.lu", "LU", 200))
	e.put(t, awsconfig.KeyTrustBundle, append(certPEM(t, "ca.fr", "FR", 900), certPEM(t, "ca.be", "BE", 12.5)...))
	e.put(t, "directory/directory.json", directory(t, 45, "PT"))
	res, err := e.m.handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Certificates != 5 || res.MinDays != 12.5 || len(res.Expiring) != 1 || !strings.Contains(res.Expiring[0], "ca.be") {
		t.Fatalf("result %+v", res)
	}
	lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d metric lines, want 5:\n%s", len(lines), e.out.String())
	}
	days, kinds := map[string]float64{}, map[string]string{}
	for _, l := range lines {
		var rec struct {
			Days    float64 `json:"CertificateDaysToExpiry"`
			Subject string  `json:"subject"`
			Kind    string
			AWS     struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		m := rec.AWS.CloudWatchMetrics
		if len(m) != 1 || m[0].Namespace != "luxncp" || m[0].Metrics[0].Name != "CertificateDaysToExpiry" {
			t.Fatalf("not an EMF record of the alarm's metric: %s", l)
		}
		if d := m[0].Dimensions; len(d) != 2 || len(d[0]) != 0 || len(d[1]) != 1 || d[1][0] != "Kind" {
			t.Fatalf("dimension sets %v, want [[] [Kind]]: %s", d, l)
		}
		days[rec.Subject] = rec.Days
		kinds[rec.Subject] = rec.Kind
	}
	for subject, kind := range map[string]string{"seal.ncp.lu": "seal", "ncp.lu": "tls", "ca.fr": "partner", "ca.be": "partner", "ncp.pt": "partner"} {
		if kinds[subject] != kind {
			t.Errorf("%s: Kind %q, want %q", subject, kinds[subject], kind)
		}
	}
	want := map[string]float64{"seal.ncp.lu": 400, "ncp.lu": 200, "ca.fr": 900, "ca.be": 12.5, "ncp.pt": 45}
	for k, v := range want {
		if days[k] != v {
			t.Errorf("%s: %v days, want %v", k, days[k], v)
		}
	}
	// A broken trust bundle still reports the others, and fails.
	e.out.Reset()
	e.put(t, awsconfig.KeyTrustBundle, []byte("garbage"))
	if res, err := e.m.handle(ctx, ev); err == nil || res.Status != "incomplete" || res.Certificates != 3 {
		t.Fatalf("broken bundle: %+v, %v", res, err)
	}
}

type requeueFunc func(context.Context) (int, error)

func (f requeueFunc) Requeue(ctx context.Context) (int, error) { return f(ctx) }

// List: one message pending for ten minutes, none dead.
func (f requeueFunc) List(_ context.Context, st outbox.State) ([]outbox.Message, error) {
	if st != outbox.StatePending {
		return nil, nil
	}
	return []outbox.Message{{Key: "k", State: outbox.StatePending, Accepted: now.Add(-10 * time.Minute)}}, nil
}

func TestOutboxSweepAndUnknownTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if res, err := e.m.handle(ctx, Event{Task: "outbox-sweep"}); err != nil || res.Status != "no-outbox" {
		t.Fatalf("no outbox: %+v, %v", res, err)
	}
	e.m.outbox = requeueFunc(func(context.Context) (int, error) { return 3, nil })
	e.out.Reset()
	if res, err := e.m.handle(ctx, Event{Task: "outbox-sweep"}); err != nil || res.Requeued != 3 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
	// The alarms' metrics: the oldest pending age and the dead letters.
	if out := e.out.String(); !strings.Contains(out, `"OutboxOldestPendingSeconds":600`) || !strings.Contains(out, `"OutboxDeadLetters":0`) {
		t.Fatalf("sweep metrics:\n%s", out)
	}
	if _, err := e.m.handle(ctx, Event{Task: "reboot"}); err == nil {
		t.Fatal("unknown task accepted")
	}
	// A failed task: one MaintenanceFailures record, its task a dimension.
	e.m.outbox = requeueFunc(func(context.Context) (int, error) { return 0, errors.New("dynamodb down") })
	e.out.Reset()
	if _, err := e.m.handle(ctx, Event{Task: "outbox-sweep"}); err == nil {
		t.Fatal("failed sweep reported done")
	}
	var rec struct {
		Function, Task string
		Failures       float64 `json:"MaintenanceFailures"`
		AWS            struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &rec); err != nil || rec.Function != "maintenance" || rec.Task != "outbox-sweep" || rec.Failures != 1 ||
		len(rec.AWS.CloudWatchMetrics) != 1 || rec.AWS.CloudWatchMetrics[0].Namespace != "luxncp" ||
		fmt.Sprint(rec.AWS.CloudWatchMetrics[0].Dimensions) != "[[Function Task]]" {
		t.Fatalf("failure metric %v: %s", err, e.out.String())
	}
}

// deliverAll is a national record that applies every dispensation.
type deliverAll struct{}

func (deliverAll) RecordDispense(context.Context, national.Dispense) error { return nil }
func (deliverAll) CancelDispense(context.Context, string) error            { return nil }

// TestOutboxSweepRequeuesLostMessages: the sweep on a real DynamoDB + SQS
// outbox (dynalite and goaws) re-sends a pending eDispensation whose SQS
// message was lost, once its retry is overdue, and not before; once
// delivered it is not sent again.
func TestOutboxSweepRequeuesLostMessages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(awsemu.RetryingConfig(awsemu.DynamoDB(t)))
	if _, err := db.CreateTable(ctx, outbox.TableInput("luxncp-outbox")); err != nil {
		t.Fatal(err)
	}
	mq := sqs.NewFromConfig(awsemu.RetryingConfig(awsemu.SQS(t)))
	cq, err := mq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("luxncp-outbox"), Attributes: map[string]string{"VisibilityTimeout": "60"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(cq.QueueUrl)
	// bodies receives what the queue holds (hiding it for the visibility
	// timeout: nothing else reads this queue).
	bodies := func() []string {
		t.Helper()
		got, err := mq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range got.Messages {
			out = append(out, aws.ToString(m.Body))
		}
		return out
	}
	clk := clock.NewFake(now)
	store, err := outbox.NewDynamo(db, mq, outbox.DynamoOptions{Table: "luxncp-outbox", QueueURL: url, Now: clk.Now, Log: e.m.log})
	if err != nil {
		t.Fatal(err)
	}
	e.m.outbox, e.m.now = store, clk.Now
	const key = "2.16.17.710.790.1000.990.1.16^ed-lost"
	if _, v, err := store.Dispense(ctx, outbox.Message{Key: key, Kind: outbox.KindDispense, PrescriptionID: "rx-0003", Matricule: "1971011007114", Accepted: clk.Now()},
		outbox.Reservation{Allowed: 1}); err != nil || v != outbox.Accepted {
		t.Fatalf("dispense = %s, %v", v, err)
	}
	// The dispatcher function took the SQS message and died: it is gone.
	got, err := mq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive = %+v, %v", got, err)
	}
	if _, err := mq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	sweep := func(want int) {
		t.Helper()
		if res, err := e.m.handle(ctx, Event{Task: "outbox-sweep"}); err != nil || res.Requeued != want {
			t.Fatalf("sweep at +%s = %+v, %v; want %d requeued", clk.Now().Sub(now), res, err, want)
		}
	}
	clk.Advance(5 * time.Minute)
	sweep(0) // not overdue yet: its SQS message may still come back
	if b := bodies(); len(b) != 0 {
		t.Fatalf("queue = %q", b)
	}
	clk.Advance(15 * time.Minute)
	e.out.Reset()
	sweep(1)
	if b := bodies(); len(b) != 1 || b[0] != key {
		t.Fatalf("queue after the sweep = %q, want the lost key", b)
	}
	if out := e.out.String(); !strings.Contains(out, `"OutboxOldestPendingSeconds":1200`) {
		t.Fatalf("sweep metrics:\n%s", out)
	}
	d := &outbox.Dispatcher{Queue: store, National: deliverAll{}, Now: clk.Now, Log: e.m.log}
	if st, err := d.Deliver(ctx, key); err != nil || st != outbox.StateDelivered {
		t.Fatalf("deliver = %s, %v", st, err)
	}
	clk.Advance(time.Hour)
	sweep(0)
}
