package awsrun

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/zclconf/go-cty/cty"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/node"
)

// Options configure a local AWS deployment.
type Options struct {
	TerraformDir string // the repository's terraform/
	FunctionsDir string // one bootstrap per function, named for it (go build -o DIR/ ./functions/...)
	WorkDir      string // emulator data and each function's /tmp (created)
	Addr         string // the front's HTTPS address
	Domain       string // the custom domain API Gateway reports (requestContext.domainName)
	// ServerCert is the front's certificate; ClientCAs the mutual TLS
	// truststore (module config_bucket's truststore): API Gateway refuses
	// a handshake without a client certificate it chains to.
	ServerCert tls.Certificate
	ClientCAs  *x509.CertPool
	Uploads    Uploads
	// Vars are terraform/ input variables main.tf's function environment
	// reads (national_fhir_base_url, identity_issuer_url, api_callers, …);
	// the rest are variables.tf's defaults (Terraform.Defaults).
	Vars map[string]cty.Value
	// FunctionLog receives the functions' output, one prefixed line each.
	FunctionLog io.Writer
	Log         *slog.Logger
}

// Gateway is a running local AWS deployment.
type Gateway struct {
	URL       string // https://Addr
	Emulators *awsemu.Emulators
	Clients   node.AWSClients
	Names     map[string]string
	Functions map[string]*Function

	front  *host.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    *slog.Logger
}

// Start starts the emulators, deploys on them, starts every function of
// local.functions under its own Runtime API with its terraform
// environment, the SQS trigger of the dispatcher, and the front. On error
// everything started is stopped.
func Start(ctx context.Context, o Options) (g *Gateway, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.FunctionLog == nil {
		o.FunctionLog = os.Stderr
	}
	tf, err := ReadTerraform(o.TerraformDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.WorkDir, 0o700); err != nil {
		return nil, fmt.Errorf("awsrun: %w", err)
	}
	g = &Gateway{Functions: map[string]*Function{}, log: o.Log}
	defer func() {
		if err != nil {
			g.Close()
			g = nil
		}
	}()
	// Every start is a fresh deployment: the emulators' data and the
	// functions' /tmp of a previous run go (the binaries stay).
	for _, fn := range append(tf.Functions(), "emulators") {
		if err := os.RemoveAll(filepath.Join(o.WorkDir, stateDirOf(fn))); err != nil {
			return g, fmt.Errorf("awsrun: %w", err)
		}
	}
	if g.Emulators, err = awsemu.StartAll(ctx, filepath.Join(o.WorkDir, "emulators")); err != nil {
		return g, err
	}
	emuEnv := g.Emulators.Env()
	g.Clients = clientsAt(g.Emulators)
	if g.Names, err = Deploy(ctx, g.Clients, o.Uploads); err != nil {
		return g, err
	}
	vars := tf.Defaults()
	for k, v := range o.Vars {
		vars[k] = v
	}
	dep := Deployment{Names: g.Names, Vars: vars}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, fn := range tf.Functions() { // started side by side: each takes a second or so
		env, err := tf.Environment(fn, dep)
		if err != nil {
			return g, err
		}
		for k, v := range emuEnv {
			env[k] = v
		}
		tmp := filepath.Join(o.WorkDir, stateDirOf(fn))
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return g, fmt.Errorf("awsrun: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := StartFunction(ctx, FunctionOptions{Name: fn, Binary: filepath.Join(o.FunctionsDir, fn), Env: env,
				Timeout: tf.Timeout(fn), TempDir: tmp, Log: LogWriter(o.FunctionLog, fn)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			g.Functions[fn] = f
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return g, err
	}
	run, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	if d := g.Functions["dispatcher"]; d != nil {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.pollQueue(run, d, g.Names["queue_url"]) }()
	}
	g.front = &host.Server{Name: "API Gateway front", Addr: o.Addr, Log: o.Log,
		Handler: payloadLimit(host.Front(o.Domain, router(tf.Routes(), g.Functions, o.Log))),
		TLS: &tls.Config{Certificates: []tls.Certificate{o.ServerCert}, ClientAuth: tls.RequireAndVerifyClientCert,
			ClientCAs: o.ClientCAs, MinVersion: tls.VersionTLS12, Time: clock.System()}}
	if err := g.front.Listen(); err != nil {
		return g, err
	}
	g.URL = "https://" + g.front.BoundAddr()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.front.Serve(run); err != nil {
			g.log.Error("awsrun: front", "error", err.Error())
		}
	}()
	return g, nil
}

// maxRequest is API Gateway HTTP API's request payload limit (10 MB);
// Lambda's own 6 MB limit on the event is Function.Invoke's.
const maxRequest = 10 << 20

// payloadLimit refuses a larger request as API Gateway does (413).
func payloadLimit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxRequest {
			http.Error(w, `{"message":"Request Entity Too Large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		h.ServeHTTP(w, r)
	})
}

// stateDirOf is the folder under WorkDir of a function's /tmp, or of the
// emulators' data ("emulators").
func stateDirOf(name string) string {
	if name == "emulators" {
		return name
	}
	return "tmp-" + name
}

// clientsAt are SDK clients aimed at the emulators.
func clientsAt(e *awsemu.Emulators) node.AWSClients {
	cfg := e.Config()
	return node.AWSClients{
		S3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(e.S3), true }),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) }),
		SQS:      sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.SQS) }),
		KMS:      kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(e.KMS) }),
	}
}

// Close stops the front (requests in flight finish), the SQS trigger,
// every function's process group and every emulator.
func (g *Gateway) Close() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
	for _, f := range g.Functions {
		f.Close()
	}
	if g.Emulators != nil {
		g.Emulators.Close()
	}
}

// router picks the function of a request by the API Gateway route keys
// ("METHOD /path", "ANY /prefix/{proxy+}"); the event carries the route
// key that matched, as API Gateway's does.
func router(routes map[string]string, fns map[string]*Function, log *slog.Logger) func(*http.Request) host.LambdaFunc {
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return func(r *http.Request) host.LambdaFunc {
		key, proxy, ok := matchRoute(keys, r)
		if f := fns[routes[key]]; ok && f != nil {
			return invoker(f, key, proxy, log)
		}
		return nil
	}
}

// matchRoute is the route key of keys r matches, with the greedy path
// parameter's value ("" for an exact route).
func matchRoute(keys []string, r *http.Request) (key, proxy string, ok bool) {
	for _, key := range keys {
		method, path, _ := strings.Cut(key, " ")
		if method != "ANY" && method != r.Method {
			continue
		}
		if prefix, greedy := strings.CutSuffix(path, "/{proxy+}"); greedy {
			if rest, ok := strings.CutPrefix(r.URL.Path, prefix+"/"); ok && rest != "" {
				return key, rest, true
			}
		} else if r.URL.Path == path {
			return key, "", true
		}
	}
	return "", "", false
}

// invoker invokes f for a request; a failed invocation (a function error,
// a timeout, an ended process), which the front answers 500 as API Gateway
// does, is logged, as API Gateway's access log and the function's log
// group show it.
func invoker(f *Function, routeKey, proxy string, log *slog.Logger) host.LambdaFunc {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		ev.RouteKey = routeKey
		ev.RequestContext.RouteKey = routeKey
		ev.RequestContext.Stage = "$default"
		ev.RequestContext.RequestID = f.Name + "-" + fmt.Sprint(clock.Now().UnixNano())
		ev.RequestContext.TimeEpoch = clock.Now().UnixMilli()
		if proxy != "" {
			ev.PathParameters = map[string]string{"proxy": proxy}
		}
		var out events.APIGatewayV2HTTPResponse
		in, err := json.Marshal(ev)
		if err != nil {
			return out, err
		}
		b, err := f.Invoke(ctx, in)
		if err == nil {
			if err = json.Unmarshal(b, &out); err != nil {
				err = fmt.Errorf("awsrun: %s answer: %w", f.Name, err)
			}
		}
		if err != nil && ctx.Err() == nil {
			log.Error("awsrun: invocation failed (answered 500)", "function", f.Name, "route", routeKey, "error", err.Error())
		}
		return out, err
	}
}

// pollQueue is the dispatcher's SQS event source mapping (terraform/
// main.tf: batch size 10, ReportBatchItemFailures): receive, invoke, and
// delete what the function did not report as failed; a failed message
// comes back after its visibility timeout.
func (g *Gateway) pollQueue(ctx context.Context, d *Function, queueURL string) {
	idle := time.NewTicker(500 * time.Millisecond)
	defer idle.Stop()
	for ctx.Err() == nil {
		out, err := g.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
		if err != nil || len(out.Messages) == 0 {
			if err != nil && ctx.Err() == nil {
				g.log.Warn("awsrun: SQS trigger", "error", err.Error())
			}
			select {
			case <-idle.C:
			case <-ctx.Done():
			}
			continue
		}
		ev := events.SQSEvent{}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs",
				EventSourceARN: "arn:aws:sqs:" + awsemu.Region + ":" + awsemu.Account + ":" + QueueName, AWSRegion: awsemu.Region})
		}
		in, _ := json.Marshal(ev)
		b, err := d.Invoke(ctx, in)
		if err != nil {
			g.log.Warn("awsrun: dispatcher invocation failed; the batch returns after its visibility timeout", "error", err.Error())
			continue
		}
		var resp events.SQSEventResponse
		_ = json.Unmarshal(b, &resp)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				if _, err := g.Clients.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					g.log.Warn("awsrun: SQS delete", "error", err.Error())
				}
			}
		}
	}
}
