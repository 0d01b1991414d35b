package lambdabench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/lambdabench"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
)

// buildFunction builds functions/<name> as scripts/build-lambda does
// (-tags lambda.norpc, static, trimmed, -s -w), for the host architecture.
func buildFunction(b *testing.B, name string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./functions/"+name)
	cmd.Dir = testutil.RepoRoot(b)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", name, err, msg)
	}
	return out
}

// healthzEvent is a GET /healthz through API Gateway (payload 2.0): harmless
// for every HTTP function (the IHE endpoints answer it without a national
// call).
func healthzEvent(b *testing.B) []byte {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /healthz", RawPath: "/healthz",
		RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "ncp.example.lu",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/healthz", SourceIP: "192.0.2.10"}}}
	p, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// awsFakes starts fakes of S3 (gofakes3, with a config bucket holding the
// test trust bundle), DynamoDB and SQS, and returns the environment that
// points the SDK inside a bootstrap at them. Entries prefixed OUTBOX= and
// IDEMPOTENCY= are for the functions Terraform gives those tables.
func awsFakes(b *testing.B) []string {
	b.Helper()
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	b.Cleanup(s3srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	// The trust list as the operator uploads it (docs/deploy.md).
	bundle := pki.FormatTrustList(testkit.Trust(b).Entries())
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("config")}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("config"), Key: aws.String("truststores/mtls-truststore.pem"), Body: bytes.NewReader(bundle)}); err != nil {
		b.Fatal(err)
	}
	ddbURL, sqsURL := awsemu.DynamoDB(b), awsemu.SQS(b)
	db := dynamodb.NewFromConfig(awsemu.RetryingConfig(ddbURL))
	if _, err := db.CreateTable(ctx, outbox.TableInput("outbox")); err != nil {
		b.Fatal(err)
	}
	awsemu.CreateTable(b, db, "idempotency", "key")
	cq, err := sqs.NewFromConfig(awsemu.RetryingConfig(sqsURL)).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("outbox")})
	if err != nil {
		b.Fatal(err)
	}
	url := aws.ToString(cq.QueueUrl)
	return []string{
		"AWS_ACCESS_KEY_ID=AKIDFAKE", "AWS_SECRET_ACCESS_KEY=fake", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_S3=" + s3srv.URL, "AWS_ENDPOINT_URL_DYNAMODB=" + ddbURL, "AWS_ENDPOINT_URL_SQS=" + sqsURL,
		"LUXNCP_CONFIG_BUCKET=config", "LUXNCP_AUDIT_BUCKET=audit",
		// Used by the functions that name them (see BenchmarkFunctionColdStart).
		"OUTBOX=LUXNCP_OUTBOX_TABLE=outbox", "OUTBOX=LUXNCP_OUTBOX_QUEUE_URL=" + url, "IDEMPOTENCY=LUXNCP_IDEMPOTENCY_TABLE=idempotency",
	}
}

// BenchmarkFunctionColdStart starts each real function's bootstrap under
// the fake Runtime API, configured as Terraform deploys it (AWS twins on
// in-process fakes of S3, DynamoDB and SQS: the trust bundle is read from
// the config bucket at init), with a harmless first event, and reports init
// (process start → runtime ready), first invocation answered, and peak RSS.
// Every iteration is a fresh process: a cold start.
//
//	go test ./internal/lambdabench -run '^$' -bench FunctionColdStart -benchtime 5x
func BenchmarkFunctionColdStart(b *testing.B) {
	common := []string{"LUXNCP_NATIONAL_FHIR_URL=http://127.0.0.1:9/fhir", "LUXNCP_LOG_LEVEL=warn"}
	sqsEvent, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m0", Body: "no-such-key", EventSource: "aws:sqs"}}})
	fns := []struct {
		name  string
		uses  []string // OUTBOX, IDEMPOTENCY
		event []byte
		check func(payload []byte) bool
	}{
		{"xcpd", nil, healthzEvent(b), isHTTP},
		{"xca", nil, healthzEvent(b), isHTTP},
		{"xdr", []string{"OUTBOX", "IDEMPOTENCY"}, healthzEvent(b), isHTTP},
		{"dispatcher", []string{"OUTBOX"}, sqsEvent, func(p []byte) bool { return !strings.Contains(string(p), "m0") }},
		{"maintenance", nil, []byte(`{"task":"certificate-expiry"}`), func(p []byte) bool { return strings.Contains(string(p), `"status":"checked"`) }},
	}
	for _, fn := range fns {
		if _, err := os.Stat(filepath.Join(testutil.RepoRoot(b), "functions", fn.name, "main.go")); err != nil {
			continue
		}
		b.Run(fn.name, func(b *testing.B) {
			bin := buildFunction(b, fn.name)
			env := append([]string{"LUXNCP_STATE_DIR=" + b.TempDir(), "LUXNCP_FUNCTION=" + fn.name}, common...)
			for _, kv := range awsFakes(b) {
				use, rest, tagged := strings.Cut(kv, "=")
				switch {
				case !tagged || !slices.Contains([]string{"OUTBOX", "IDEMPOTENCY"}, use):
					env = append(env, kv)
				case slices.Contains(fn.uses, use):
					env = append(env, rest)
				}
			}
			var initSum, firstSum time.Duration
			var rss int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				res, err := lambdabench.Measure(ctx, bin, env, fn.event)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if res.Response.Error != nil || !fn.check(res.Response.Payload) {
					b.Fatalf("%s: response %s %+v", fn.name, res.Response.Payload, res.Response.Error)
				}
				initSum += res.Init
				firstSum += res.FirstInvoke
				rss = max(rss, res.PeakRSSBytes)
			}
			b.ReportMetric(float64(initSum.Microseconds())/1000/float64(b.N), "init-ms")
			b.ReportMetric(float64(firstSum.Microseconds())/1000/float64(b.N), "first-invoke-ms")
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		})
	}
}

// isHTTP: an API Gateway response with a status code.
func isHTTP(p []byte) bool {
	var r events.APIGatewayV2HTTPResponse
	return json.Unmarshal(p, &r) == nil && r.StatusCode != 0
}
