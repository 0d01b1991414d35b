package awsrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/soap"
)

// runtimeAPI is the Lambda Runtime API version the functions'
// aws-lambda-go speaks.
const runtimeAPI = "/2018-06-01/runtime/"

// maxPayload is Lambda's synchronous invocation limit (request and
// response: 6 MB).
const maxPayload = 6 << 20

// errFunction is an invocation the function answered with an error (the
// Runtime API's /error), as Lambda reports a function error.
var errFunction = errors.New("function error")

// Function is one function binary running its lambda.Start loop against
// a Runtime API of its own, as one Lambda execution environment: one
// invocation at a time.
type Function struct {
	Name string

	arn     string
	timeout time.Duration
	next    chan *invocation
	ln      net.Listener
	srv     *http.Server
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	ready   chan struct{}
	initErr chan string

	mu      sync.Mutex
	pending map[string]*invocation
	seq     int
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan result
}

type result struct {
	body []byte
	err  error
}

// FunctionOptions start one function.
type FunctionOptions struct {
	Name    string            // luxncp-<name> is AWS_LAMBDA_FUNCTION_NAME
	Binary  string            // the function's bootstrap (go build ./functions/<name>)
	Env     map[string]string // terraform's environment and the emulators'
	Timeout time.Duration     // per invocation (terraform timeout_s); 0: 29 s
	TempDir string            // the function's /tmp
	Log     io.Writer         // the function's stdout and stderr (CloudWatch Logs)
}

// StartFunction serves a Runtime API on loopback, starts the binary
// under it (in a process group of its own, with only the environment
// Lambda gives) and waits until it asks for its first invocation.
func StartFunction(ctx context.Context, o FunctionOptions) (*Function, error) {
	if o.Timeout == 0 {
		o.Timeout = 29 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awsrun: %s runtime API: %w", o.Name, err)
	}
	f := &Function{Name: o.Name, arn: "arn:aws:lambda:" + awsemu.Region + ":" + awsemu.Account + ":function:luxncp-" + o.Name,
		timeout: o.Timeout, next: make(chan *invocation), ln: ln, exited: make(chan struct{}), ready: make(chan struct{}),
		initErr: make(chan string, 1), pending: map[string]*invocation{}}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()

	env := []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + o.TempDir, "HOME=" + o.TempDir, "LAMBDA_TASK_ROOT=" + filepath.Dir(o.Binary),
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME=luxncp-" + o.Name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST"}
	if v := os.Getenv(clock.OffsetEnv); v != "" {
		env = append(env, clock.OffsetEnv+"="+v) // the test suite's year-ahead runs shift every process
	}
	for k, v := range o.Env {
		env = append(env, k+"="+v)
	}
	f.cmd = exec.Command(o.Binary)
	f.cmd.Env, f.cmd.Dir = env, o.TempDir
	f.cmd.Stdout, f.cmd.Stderr = o.Log, o.Log
	awsemu.OwnProcessGroup(f.cmd)
	if err := f.cmd.Start(); err != nil {
		_ = f.srv.Close()
		return nil, fmt.Errorf("awsrun: start %s: %w", o.Name, err)
	}
	go func() { f.exitErr = f.cmd.Wait(); close(f.exited) }()
	select {
	case <-f.ready:
		return f, nil
	case msg := <-f.initErr:
		f.Close()
		return nil, fmt.Errorf("awsrun: %s failed to start: %s", o.Name, msg)
	case <-f.exited:
		f.Close()
		return nil, fmt.Errorf("awsrun: %s exited at start: %v", o.Name, f.exitErr)
	case <-ctx.Done():
		f.Close()
		return nil, ctx.Err()
	}
}

// Close kills the function's process group and stops its Runtime API.
func (f *Function) Close() {
	awsemu.KillProcessGroup(f.cmd)
	<-f.exited
	_ = f.srv.Close()
}

// Invoke is a synchronous invocation (RequestResponse): the function's
// JSON answer, or an error for a function error, a timeout or an ended
// process.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("awsrun: %s: request payload %d bytes exceeds Lambda's %d", f.Name, len(payload), maxPayload)
	}
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("%s-%d-%s", f.Name, f.seq, soap.NewUUID())
	f.mu.Unlock()
	inv := &invocation{id: id, payload: payload, done: make(chan result, 1)}
	timer := time.NewTimer(f.timeout)
	defer timer.Stop()
	select { // one execution environment: invocations wait their turn
	case f.next <- inv:
	case <-f.exited:
		return nil, fmt.Errorf("awsrun: %s is not running: %v", f.Name, f.exitErr)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-inv.done:
		return r.body, r.err
	case <-timer.C:
		return nil, fmt.Errorf("awsrun: %s: task timed out after %s", f.Name, f.timeout)
	case <-f.exited:
		return nil, fmt.Errorf("awsrun: %s: runtime exited during the invocation: %v", f.Name, f.exitErr)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ServeHTTP is the Runtime API: GET invocation/next, POST
// invocation/{id}/response, POST invocation/{id}/error, POST init/error.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, runtimeAPI)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case p == "invocation/next" && r.Method == http.MethodGet:
		f.once()
		select {
		case inv := <-f.next:
			inv.deadline = clock.Now().Add(f.timeout)
			f.mu.Lock()
			f.pending[inv.id] = inv
			f.mu.Unlock()
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", f.arn)
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(inv.payload)
		case <-r.Context().Done():
		}
	case p == "init/error" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		select {
		case f.initErr <- string(b):
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	case strings.HasPrefix(p, "invocation/") && r.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(p, "invocation/"), "/")
		f.mu.Lock()
		inv := f.pending[id]
		delete(f.pending, id)
		f.mu.Unlock()
		if inv == nil {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
		switch {
		case err != nil:
			inv.done <- result{err: fmt.Errorf("awsrun: %s response: %w", f.Name, err)}
		case len(b) > maxPayload:
			inv.done <- result{err: fmt.Errorf("awsrun: %s: response payload exceeds Lambda's %d bytes", f.Name, maxPayload)}
		case kind == "response":
			inv.done <- result{body: b}
		default:
			var e struct {
				Message string `json:"errorMessage"`
				Type    string `json:"errorType"`
			}
			_ = json.Unmarshal(b, &e)
			inv.done <- result{err: fmt.Errorf("awsrun: %s: %w: %s: %s", f.Name, errFunction, e.Type, e.Message)}
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

// once marks the function ready at its first GET invocation/next.
func (f *Function) once() {
	select {
	case <-f.ready:
	default:
		f.mu.Lock()
		select {
		case <-f.ready:
		default:
			close(f.ready)
		}
		f.mu.Unlock()
	}
}

// prefixWriter writes each line of a function's output with its name, as
// CloudWatch Logs keeps one log group per function.
type prefixWriter struct {
	mu     sync.Mutex
	prefix []byte
	out    io.Writer
	buf    bytes.Buffer
}

// LogWriter returns a writer that prefixes each line with "name| ".
func LogWriter(out io.Writer, name string) io.Writer {
	return &prefixWriter{prefix: []byte(name + "| "), out: out}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadBytes('\n')
		if err != nil {
			p.buf.Write(line) // partial: wait for the rest
			return len(b), nil
		}
		if _, err := p.out.Write(append(append([]byte{}, p.prefix...), line...)); err != nil {
			return len(b), err
		}
	}
}
