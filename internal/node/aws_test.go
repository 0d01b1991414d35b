package node_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/awsemu"
	gw "github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestLoadAWSEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		check   func(node.AWSEnv) bool
		wantErr bool
	}{
		{"nothing set: local twins", nil, func(e node.AWSEnv) bool { return !e.Any() && e.CertWarnDays == 30 && e.TrustBundleKey != "" }, false},
		{"retention in days (terraform)", map[string]string{"LUXNCP_AUDIT_BUCKET": "a", "LUXNCP_AUDIT_RETENTION": "2555"},
			func(e node.AWSEnv) bool { return e.Any() && e.AuditRetention == 2555*24*time.Hour }, false},
		{"retention as a duration", map[string]string{"LUXNCP_AUDIT_RETENTION": "720h"}, func(e node.AWSEnv) bool { return e.AuditRetention == 720*time.Hour }, false},
		{"bad retention", map[string]string{"LUXNCP_AUDIT_RETENTION": "ten years"}, nil, true},
		{"warn days", map[string]string{"LUXNCP_CERT_WARN_DAYS": "45"}, func(e node.AWSEnv) bool { return e.CertWarnDays == 45 }, false},
		{"bad warn days", map[string]string{"LUXNCP_CERT_WARN_DAYS": "-1"}, nil, true},
		{"table without queue", map[string]string{"LUXNCP_OUTBOX_TABLE": "t"}, nil, true},
		{"on lambda", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "luxncp-xdr", "LUXNCP_FUNCTION": "xdr"},
			func(e node.AWSEnv) bool { return e.OnLambda && e.Function == "xdr" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := node.LoadAWSEnv(envOf(tc.env))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !tc.check(e) {
				t.Fatalf("env = %+v", e)
			}
		})
	}
}

func TestConfigFromEnvTerraformNames(t *testing.T) {
	c, err := node.ConfigFromEnv(envOf(map[string]string{"LUXNCP_NATIONAL_FHIR_URL": "https://fhir.example.lu/fhir", "AWS_LAMBDA_FUNCTION_NAME": "f"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.NationalURL != "https://fhir.example.lu/fhir" || !strings.HasPrefix(c.StateDir, os.TempDir()) {
		t.Fatalf("config = %+v", c)
	}
	c, _ = node.ConfigFromEnv(envOf(map[string]string{"LUXNCP_NATIONAL_FHIR_URL": "https://a", "LUXNCP_NATIONAL_URL": "https://b", "LUXNCP_STATE_DIR": "/srv/luxncp"}))
	if c.NationalURL != "https://b" || c.StateDir != "/srv/luxncp" {
		t.Fatalf("explicit names must win: %+v", c)
	}
}

func fakeS3Client(t *testing.T, buckets ...string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	for _, b := range buckets {
		if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestBuildAWS(t *testing.T) {
	ctx := context.Background()
	s3c := fakeS3Client(t, "audit", "config")
	bundle := pki.FormatTrustList(testkit.Trust(t).Entries())
	s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("config"), Key: aws.String("truststores/mtls-truststore.pem"), Body: bytes.NewReader(bundle)})
	db := dynamodb.NewFromConfig(awsemu.RetryingConfig(awsemu.DynamoDB(t)))
	if _, err := db.CreateTable(ctx, outbox.TableInput("outbox")); err != nil {
		t.Fatal(err)
	}
	awsemu.CreateTable(t, db, "idem", "key")
	q := sqs.NewFromConfig(awsemu.RetryingConfig(awsemu.SQS(t)))
	cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("outbox")})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(cq.QueueUrl)
	cl := node.AWSClients{S3: s3c, DynamoDB: db, SQS: q}
	env, err := node.LoadAWSEnv(envOf(map[string]string{
		"LUXNCP_AUDIT_BUCKET": "audit", "LUXNCP_AUDIT_RETENTION": "3650", "LUXNCP_CONFIG_BUCKET": "config",
		"LUXNCP_OUTBOX_TABLE": "outbox", "LUXNCP_OUTBOX_QUEUE_URL": url, "LUXNCP_IDEMPOTENCY_TABLE": "idem",
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := node.Config{StateDir: t.TempDir()}.Defaults()
	tw, err := node.BuildAWS(ctx, env, cl, cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tw.Outbox.(*outbox.DynamoStore); !ok {
		t.Errorf("outbox %T", tw.Outbox)
	}
	if _, ok := tw.Replay.(*gw.DynamoReplayGuard); !ok {
		t.Errorf("replay guard %T", tw.Replay)
	}
	if tw.AuditSink == nil || tw.Directory == nil || tw.Config == nil || tw.Seal != nil {
		t.Errorf("twins = %+v", tw)
	}
	if got, _ := os.ReadFile(cfg.TrustBundle); !bytes.Equal(got, bundle) {
		t.Error("trust bundle not copied from the config bucket")
	}
	// The node starts on the twins, and the replay guard is the shared one.
	n, err := node.New(cfg, quietLog(), tw.Options)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Outbox != tw.Outbox {
		t.Error("node does not use the DynamoDB outbox")
	}
	if n.Gateway.Replay != tw.Replay {
		t.Errorf("node's replay guard is %T, not the shared DynamoDB one", n.Gateway.Replay)
	}
	// No trust bundle in the bucket: the node cannot start blind.
	empty := fakeS3Client(t, "config")
	if _, err := node.BuildAWS(ctx, node.AWSEnv{ConfigBucket: "config", TrustBundleKey: "truststores/x.pem"}, node.AWSClients{S3: empty}, cfg, quietLog()); err == nil {
		t.Error("missing trust bundle accepted")
	}
}

func TestBuildAWSRefusesLocalOutboxForXDROnLambda(t *testing.T) {
	_, err := node.BuildAWS(context.Background(), node.AWSEnv{Function: "xdr", OnLambda: true}, node.AWSClients{}, node.Config{StateDir: t.TempDir()}, quietLog())
	if err == nil || !strings.Contains(err.Error(), "LUXNCP_OUTBOX_TABLE") {
		t.Fatalf("err = %v", err)
	}
}

// TestBuildAWSRefusesLocalAuditOnLambda: on Lambda, every function that
// audits needs the S3 sink; only maintenance audits nothing.
func TestBuildAWSRefusesLocalAuditOnLambda(t *testing.T) {
	for _, fn := range []string{"xcpd", "xca", "xdr", "api", "dispatcher", ""} {
		_, err := node.BuildAWS(context.Background(), node.AWSEnv{Function: fn, OnLambda: true, OutboxTable: "outbox"}, node.AWSClients{}, node.Config{StateDir: t.TempDir()}, quietLog())
		if err == nil || !strings.Contains(err.Error(), "LUXNCP_AUDIT_BUCKET") {
			t.Errorf("%q on Lambda without an audit bucket: err = %v", fn, err)
		}
	}
	if _, err := node.BuildAWS(context.Background(), node.AWSEnv{Function: "maintenance", OnLambda: true}, node.AWSClients{}, node.Config{StateDir: t.TempDir()}, quietLog()); err != nil && strings.Contains(err.Error(), "LUXNCP_AUDIT_BUCKET") {
		t.Errorf("maintenance refused: %v", err)
	}
}

// TestEvidenceOnlyWhereCovered: only the xca and xdr functions serve
// transactions that get evidence; the others build no emitter (and do not
// log a missing seal as an error on every cold start).
func TestEvidenceOnlyWhereCovered(t *testing.T) {
	for fn, want := range map[string]bool{"xcpd": true, "api": true, "dispatcher": true, "maintenance": true, "xca": false, "xdr": false, "": false} {
		tw, err := node.BuildAWS(context.Background(), node.AWSEnv{Function: fn}, node.AWSClients{}, node.Config{StateDir: t.TempDir()}, quietLog())
		if err != nil {
			t.Fatalf("%q: %v", fn, err)
		}
		if tw.Options.NoEvidence != want {
			t.Errorf("%q: NoEvidence = %v, want %v", fn, tw.Options.NoEvidence, want)
		}
	}
}

func TestWriteMetric(t *testing.T) {
	var b bytes.Buffer
	if err := node.WriteMetric(&b, time.Unix(1764000000, 0), "CertificateDaysToExpiry", 12.5, "None", map[string]string{"subject": "CN=ncp.fr"}); err != nil {
		t.Fatal(err)
	}
	want := `{"CertificateDaysToExpiry":12.5,"_aws":{"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"CertificateDaysToExpiry","Unit":"None"}],"Namespace":"luxncp"}],"Timestamp":1764000000000},"subject":"CN=ncp.fr"}` + "\n"
	if b.String() != want {
		t.Fatalf("EMF line\n got %s\nwant %s", b.String(), want)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestBuildAWSSeal: the KMS seal key (on local-kms) needs its certificate
// from the configuration bucket, and the two must be one key pair.
func TestBuildAWSSeal(t *testing.T) {
	ctx := context.Background()
	k := kms.New(kms.Options{BaseEndpoint: aws.String(awsemu.KMS(t)), Region: awsemu.Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
	cl := node.AWSClients{KMS: k}
	newKey := func() string {
		key, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(key.KeyMetadata.Arn)
	}
	key, other := newKey(), newKey()
	cfg := node.Config{StateDir: t.TempDir()}.Defaults()
	env := node.AWSEnv{SealKMSKey: key, LocalTrustBundle: true}
	if _, err := node.BuildAWS(ctx, env, cl, cfg, quietLog()); err == nil || !strings.Contains(err.Error(), "LUXNCP_CONFIG_BUCKET") {
		t.Fatalf("seal key without a config bucket: err = %v", err)
	}
	cl.S3 = fakeS3Client(t, "config")
	env.ConfigBucket = "config"
	upload := func(keyARN string) {
		cl.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("config"), Key: aws.String(awsconfig.KeySeal), Body: bytes.NewReader(sealCertificate(t, cl, keyARN))})
	}
	upload(other)
	if _, err := node.BuildAWS(ctx, env, cl, cfg, quietLog()); err == nil || !strings.Contains(err.Error(), "is not the certificate of KMS key") {
		t.Fatalf("another key's certificate: err = %v", err)
	}
	upload(key)
	// A fresh store: the configuration cache would keep the first object.
	tw, err := node.BuildAWS(ctx, env, cl, cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if tw.Seal == nil || tw.EvidenceSeal == nil || tw.CountryB.Seal == nil {
		t.Fatalf("seal not wired: %+v", tw)
	}
}
