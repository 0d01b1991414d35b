package awsfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Failure is an injected failure for the next calls of one operation.
type Failure struct {
	// Code is the AWS error code, e.g. "ThrottlingException",
	// "ConditionalCheckFailedException", "KMSInternalException".
	// Empty with a Delay means: answer normally, but late.
	Code string
	// Status is the HTTP status; 0 means 400 (500 for codes ending in
	// "InternalException" or "InternalServerError").
	Status int
	// Message is the error message; empty means a generic one.
	Message string
	// Delay is waited before answering (or until the client gives up),
	// to exercise timeouts.
	Delay time.Duration
}

// Common failure codes.
const (
	Throttling              = "ThrottlingException"
	ConditionalCheckFailed  = "ConditionalCheckFailedException"
	ProvisionedThroughput   = "ProvisionedThroughputExceededException"
	KMSInternal             = "KMSInternalException"
	KMSDisabled             = "DisabledException"
	ServiceUnavailable      = "ServiceUnavailable"
	sqsThrottlingCode       = "RequestThrottled"
	validationExceptionCode = "ValidationException"
)

// apiError is an error answered on the wire.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errValidation(format string, args ...any) *apiError {
	return &apiError{status: 400, code: validationExceptionCode, message: fmt.Sprintf(format, args...)}
}

// handlerFunc runs one operation on a decoded JSON request body.
type handlerFunc func(ctx context.Context, body []byte) (any, *apiError)

// server is the JSON-protocol plumbing shared by the fakes: X-Amz-Target
// dispatch, call counting and failure injection.
type server struct {
	srv         *httptest.Server
	prefix      string // X-Amz-Target prefix, e.g. "TrentService."
	contentType string
	errPrefix   string // prefix of __type in errors, e.g. "com.amazonaws.dynamodb.v20120810#"
	ops         map[string]handlerFunc

	mu       sync.Mutex
	calls    map[string]int
	failures map[string][]Failure
	always   map[string]*Failure
}

func newServer(prefix, contentType, errPrefix string, ops map[string]handlerFunc) *server {
	s := &server{
		prefix: prefix, contentType: contentType, errPrefix: errPrefix, ops: ops,
		calls: map[string]int{}, failures: map[string][]Failure{}, always: map[string]*Failure{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the endpoint to give the SDK client as BaseEndpoint.
func (s *server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *server) Close() { s.srv.Close() }

// Calls returns how many requests reached operation op (e.g. "Sign"),
// failed ones included.
func (s *server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// FailNext makes the next n calls of op fail with f.
func (s *server) FailNext(op string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[op] = append(s.failures[op], f)
	}
}

// FailAlways makes every call of op fail with f until Heal.
func (s *server) FailAlways(op string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always[op] = &f
}

// Heal removes every injected failure.
func (s *server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string][]Failure{}
	s.always = map[string]*Failure{}
}

func (s *server) nextFailure(op string) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	if f := s.always[op]; f != nil {
		return f
	}
	if q := s.failures[op]; len(q) > 0 {
		f := q[0]
		s.failures[op] = q[1:]
		return &f
	}
	return nil
}

func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, s.prefix)
	if r.Method != http.MethodPost || !ok {
		s.writeError(w, &apiError{status: 400, code: "UnknownOperationException", message: "unknown target " + target})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		s.writeError(w, errValidation("read body: %v", err))
		return
	}
	if f := s.nextFailure(op); f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.Code != "" {
			s.writeError(w, failureError(f))
			return
		}
	}
	h, ok := s.ops[op]
	if !ok {
		s.writeError(w, &apiError{status: 400, code: "UnknownOperationException", message: "operation not implemented by the fake: " + op})
		return
	}
	out, aerr := h(r.Context(), body)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", s.contentType)
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	_ = json.NewEncoder(w).Encode(out)
}

func failureError(f *Failure) *apiError {
	status := f.Status
	if status == 0 {
		status = 400
		if strings.HasSuffix(f.Code, "InternalException") || strings.HasSuffix(f.Code, "InternalServerError") || f.Code == ServiceUnavailable {
			status = 500
		}
	}
	msg := f.Message
	if msg == "" {
		msg = "injected failure " + f.Code
	}
	return &apiError{status: status, code: f.Code, message: msg}
}

func (s *server) writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", s.contentType)
	w.Header().Set("X-Amzn-Errortype", e.code)
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": s.errPrefix + e.code, "message": e.message})
}

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return errValidation("malformed request: %v", err)
	}
	return nil
}
