package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/reqlog"
)

// LocalTLSConfig requests (but does not itself verify) a client certificate:
// the handlers verify it against the trust store and answer a clear SOAP
// fault, with an audit record, instead of a bare handshake failure. The
// server's own certificate is cert.
func LocalTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
		Time:         clock.System(),
	}
}

// WithTLSPeer is middleware for the local host: it puts the TLS client
// certificate chain into the request's Peer.
func WithTLSPeer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := Peer{RemoteAddr: r.RemoteAddr, Host: "local"}
		if r.TLS != nil {
			p.Certs = r.TLS.PeerCertificates
		}
		h.ServeHTTP(w, r.WithContext(WithPeer(r.Context(), p)))
	})
}

// Server is one local listener: HTTPS when TLS is set, plain HTTP otherwise.
type Server struct {
	Name    string
	Addr    string
	Handler http.Handler
	TLS     *tls.Config
	Log     *slog.Logger

	srv *http.Server
	ln  net.Listener
}

// Listen binds the address (so that callers know the port before serving).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("%s: listen %s: %w", s.Name, s.Addr, err)
	}
	if s.TLS != nil {
		ln = tls.NewListener(ln, s.TLS)
	}
	s.ln = ln
	h := reqlog.Middleware(s.Handler)
	if s.TLS != nil {
		h = WithTLSPeer(h)
	}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if s.Log != nil {
		s.srv.ErrorLog = slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug)
	}
	return nil
}

// Addr returns the bound address (after Listen).
func (s *Server) BoundAddr() string {
	if s.ln == nil {
		return s.Addr
	}
	return s.ln.Addr().String()
}

// Serve serves until ctx ends, then shuts down gracefully: requests in
// flight complete (their audit records and outbox writes included).
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
