package awsemu

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Faults is the one hand-written part: a proxy in front of an emulator
// that injects AWS failures (throttling, internal errors, a disabled key,
// a hung service), which no emulator can be told to produce. It never
// answers a request itself otherwise: every call that is not failed goes
// to the emulator, whose answers, limits and state are the emulator's.
// Only the JSON protocols (X-Amz-Target: DynamoDB, KMS, the SQS bridge).
type Faults struct {
	URL string // the proxy's base URL: give it to the SDK client

	mu       sync.Mutex
	calls    map[string]int
	failures map[string][]Failure
	always   map[string]*Failure
	rewrite  map[string]func(map[string]any)
}

// Failure is an injected failure for calls of one operation.
type Failure struct {
	// Code is the AWS error code ("ThrottlingException"). Empty with a
	// Delay: the emulator answers, but late.
	Code string
	// Status is the HTTP status; 0: 400, or 500 for internal errors and
	// ServiceUnavailable.
	Status  int
	Message string
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
}

// AWS error codes the tests inject.
const (
	Throttling            = "ThrottlingException"
	ProvisionedThroughput = "ProvisionedThroughputExceededException"
	KMSInternal           = "KMSInternalException"
	KMSDisabled           = "DisabledException"
	ServiceUnavailable    = "ServiceUnavailable"
)

// NewFaults serves a failure-injecting proxy to upstream (an emulator's
// URL) for t.
func NewFaults(t testing.TB, upstream string) *Faults {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	f := &Faults{calls: map[string]int{}, failures: map[string][]Failure{}, always: map[string]*Failure{}, rewrite: map[string]func(map[string]any){}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		svc, op, _ := strings.Cut(target, ".")
		// The body is read first: only then does the server notice a client
		// that gave up (and end r.Context()).
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		if fl := f.next(op); fl != nil {
			if fl.Delay > 0 {
				select {
				case <-time.After(fl.Delay):
				case <-r.Context().Done():
					return
				}
			}
			if fl.Code != "" {
				writeFailure(w, svc, fl)
				return
			}
		}
		if rw := f.rewriter(op); rw != nil {
			var req map[string]any
			if json.Unmarshal(body, &req) == nil {
				rw(req)
				body, _ = json.Marshal(req)
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *Faults) next(op string) *Failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if fl := f.always[op]; fl != nil {
		return fl
	}
	if q := f.failures[op]; len(q) > 0 {
		fl := q[0]
		f.failures[op] = q[1:]
		return &fl
	}
	return nil
}

func (f *Faults) rewriter(op string) func(map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rewrite[op]
}

// Rewrite changes every request of op (its decoded JSON) before the
// emulator sees it, until Heal: a service answering for another key or
// item than asked, which no emulator does on request.
func (f *Faults) Rewrite(op string, rw func(req map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rewrite[op] = rw
}

// Calls is how many requests of op (e.g. "Sign") reached the proxy,
// failed ones included.
func (f *Faults) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// FailNext fails the next n calls of op with fl.
func (f *Faults) FailNext(op string, n int, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failures[op] = append(f.failures[op], fl)
	}
}

// FailAlways fails every call of op with fl until Heal.
func (f *Faults) FailAlways(op string, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.always[op] = &fl
}

// Heal removes every injected failure.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = map[string][]Failure{}
	f.always = map[string]*Failure{}
	f.rewrite = map[string]func(map[string]any){}
}

// writeFailure answers fl in the JSON protocol's error shape of service
// svc (the X-Amz-Target prefix: DynamoDB_20120810, TrentService, AmazonSQS).
func writeFailure(w http.ResponseWriter, svc string, fl *Failure) {
	status := fl.Status
	if status == 0 {
		status = http.StatusBadRequest
		if strings.HasSuffix(fl.Code, "InternalException") || strings.HasSuffix(fl.Code, "InternalServerError") || fl.Code == ServiceUnavailable {
			status = http.StatusInternalServerError
		}
	}
	msg := fl.Message
	if msg == "" {
		msg = "injected failure " + fl.Code
	}
	prefix := map[string]string{"DynamoDB_20120810": "com.amazonaws.dynamodb.v20120810#", "TrentService": "", "AmazonSQS": "com.amazonaws.sqs#"}[svc]
	ctype := "application/x-amz-json-1.1"
	if svc == "DynamoDB_20120810" || svc == "AmazonSQS" {
		ctype = "application/x-amz-json-1.0"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Amzn-Errortype", fl.Code)
	if svc == "AmazonSQS" {
		w.Header().Set("X-Amzn-Query-Error", fl.Code+";Sender")
	}
	w.WriteHeader(status)
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(map[string]string{"__type": prefix + fl.Code, "message": msg})
	_, _ = io.Copy(w, &b)
}

// RetryingConfig is an SDK configuration aimed at endpoint (an emulator or
// a Faults proxy) with the standard retryer (3 attempts) at millisecond
// backoff and no client-side retry quota, so retry tests are fast and
// deterministic.
func RetryingConfig(endpoint string) aws.Config {
	return aws.Config{
		Region: Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxBackoff = 5 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// TableInput is a pay-per-request table keyed by the string attribute
// hashKey, as terraform/modules/outbox declares luxncp's.
func TableInput(name, hashKey string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(hashKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hashKey), KeyType: ddbtypes.KeyTypeHash}}}
}

// CreateTable creates TableInput(name, hashKey) on db for t.
func CreateTable(t testing.TB, db *dynamodb.Client, name, hashKey string) {
	t.Helper()
	if _, err := db.CreateTable(context.Background(), TableInput(name, hashKey)); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}
