package testutil

import (
	"net/http"
	"net/http/httptest"
)

// InProcess is an http.RoundTripper that serves each request with a
// handler in the same process, without sockets (a national backend or a
// fixed answer behind a client under test).
type InProcess struct{ Handler http.Handler }

// RoundTrip implements http.RoundTripper.
func (p InProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	p.Handler.ServeHTTP(w, r)
	return w.Result(), nil
}
