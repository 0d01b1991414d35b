package lambdabench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// Response is what a function answered to one invocation.
type Response struct {
	RequestID string
	// Payload is the body posted to /response (nil after an error).
	Payload []byte
	// Error is set when the function posted to /error.
	Error *FunctionError
}

// FunctionError is the body of an /error or /init/error post.
type FunctionError struct {
	Message string   `json:"errorMessage"`
	Type    string   `json:"errorType"`
	Trace   []string `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// RuntimeAPI is a fake Lambda Runtime API on a loopback port. One runtime
// process at a time polls it; Invoke queues an event and waits for the
// answer.
type RuntimeAPI struct {
	srv *httptest.Server

	// FunctionARN is sent as Lambda-Runtime-Invoked-Function-Arn.
	FunctionARN string
	// Deadline is the time a function gets per invocation (sent as
	// Lambda-Runtime-Deadline-Ms); 0 means 30 s.
	Deadline time.Duration

	queue chan *invocation

	mu        sync.Mutex
	seq       int
	pending   map[string]*invocation
	polled    chan struct{} // closed on the first /next
	initErr   chan *FunctionError
	firstPoll time.Time
}

type invocation struct {
	id      string
	payload []byte
	done    chan Response
}

// NewRuntimeAPI starts a fake Runtime API. Close it when done.
func NewRuntimeAPI() *RuntimeAPI {
	r := &RuntimeAPI{
		FunctionARN: "arn:aws:lambda:eu-west-1:111122223333:function:luxncp-test",
		queue:       make(chan *invocation, 64),
		pending:     map[string]*invocation{},
		polled:      make(chan struct{}),
		initErr:     make(chan *FunctionError, 1),
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	return r
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (r *RuntimeAPI) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Env returns the environment a bootstrap needs to talk to this API:
// AWS_LAMBDA_RUNTIME_API plus the usual function variables.
func (r *RuntimeAPI) Env() []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + r.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=luxncp-test",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=eu-west-1",
		"AWS_DEFAULT_REGION=eu-west-1",
		"_HANDLER=bootstrap",
	}
}

// Close stops the server; pending Invoke calls return an error.
func (r *RuntimeAPI) Close() { r.srv.CloseClientConnections(); r.srv.Close() }

// Ready is closed when the runtime first asks for an invocation.
func (r *RuntimeAPI) Ready() <-chan struct{} { return r.polled }

// FirstPoll is when Ready was closed (zero before).
func (r *RuntimeAPI) FirstPoll() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstPoll
}

// InitError delivers the body of an /init/error post.
func (r *RuntimeAPI) InitError() <-chan *FunctionError { return r.initErr }

// Invoke queues payload as the next event and waits for the function's
// answer or ctx's end. An invocation given up on (ctx ended: the caller
// hung up, the front timed out) still runs, as on Lambda: the function's
// late answer is taken (202) and dropped, not refused, which would end the
// runtime's loop and so the function process.
func (r *RuntimeAPI) Invoke(ctx context.Context, payload []byte) (Response, error) {
	r.mu.Lock()
	r.seq++
	inv := &invocation{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", r.seq), payload: payload, done: make(chan Response, 1)}
	r.pending[inv.id] = inv
	r.mu.Unlock()
	select {
	case r.queue <- inv:
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	select {
	case resp := <-inv.done:
		return resp, nil
	case ie := <-r.initErr:
		r.initErr <- ie // keep it for InitError readers
		return Response{}, fmt.Errorf("runtime init failed: %w", ie)
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
}

const prefix = "/2018-06-01/runtime/"

func (r *RuntimeAPI) serveHTTP(w http.ResponseWriter, req *http.Request) {
	path, ok := strings.CutPrefix(req.URL.Path, prefix)
	if !ok {
		http.NotFound(w, req)
		return
	}
	switch {
	case path == "invocation/next" && req.Method == http.MethodGet:
		r.next(w, req)
	case path == "init/error" && req.Method == http.MethodPost:
		fe := readError(req)
		select {
		case r.initErr <- fe:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	case strings.HasPrefix(path, "invocation/") && req.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		if kind != "response" && kind != "error" {
			http.NotFound(w, req)
			return
		}
		// The first answer settles the invocation; done has room for it,
		// whether or not Invoke still waits.
		r.mu.Lock()
		inv := r.pending[id]
		delete(r.pending, id)
		r.mu.Unlock()
		if inv == nil {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		switch kind {
		case "response":
			body, err := io.ReadAll(io.LimitReader(req.Body, 6<<20+1))
			if err != nil || len(body) > 6<<20 {
				// Lambda fails the invocation with this error.
				inv.done <- Response{RequestID: id, Error: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: "response payload size exceeded the maximum allowed payload size (6291556 bytes)"}}
				http.Error(w, `{"errorMessage":"payload too large","errorType":"RequestEntityTooLarge"}`, http.StatusRequestEntityTooLarge)
				return
			}
			inv.done <- Response{RequestID: id, Payload: body}
		default: // "error"
			inv.done <- Response{RequestID: id, Error: readError(req)}
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, req)
	}
}

func (r *RuntimeAPI) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.firstPoll.IsZero() {
		r.firstPoll = clock.Now()
		close(r.polled)
	}
	r.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-r.queue:
	case <-req.Context().Done():
		return
	}
	deadline := r.Deadline
	if deadline == 0 {
		deadline = 30 * time.Second
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(clock.IODeadline(deadline).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", r.FunctionARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.payload)
}

func readError(req *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil {
		fe = FunctionError{Message: string(body), Type: req.Header.Get("Lambda-Runtime-Function-Error-Type")}
	}
	if fe.Type == "" {
		fe.Type = req.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	return &fe
}

// ErrNoProcStatus is returned by PeakRSS where /proc is not available.
var ErrNoProcStatus = errors.New("lambdabench: /proc/<pid>/status not available")
