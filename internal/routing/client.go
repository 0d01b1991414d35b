package routing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/peertext"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/soap"
)

// Config is the outbound client's configuration. Zero durations and counts
// take the documented defaults.
type Config struct {
	Directory Directory
	// TLS is Luxembourg's TLS credential presented to contact points.
	TLS tls.Certificate
	// Trust verifies contact points' certificates (TLS and seals).
	Trust *pki.TrustStore
	// AttemptTimeout bounds one HTTP attempt, reply included (default 10 s).
	AttemptTimeout time.Duration
	// CallTimeout bounds a call over all its attempts (default 25 s).
	CallTimeout time.Duration
	// Retries is how many times a safe call is resent after a
	// communication failure or a 502/503/504 (default 2; negative: none).
	Retries int
	// RetryWaitMin / RetryWaitMax bound the exponential backoff with full
	// jitter between attempts (defaults 200 ms, 2 s).
	RetryWaitMin, RetryWaitMax time.Duration
	Breaker                    BreakerConfig
	// Limits of replies (defaults as soap.Limits; 64 MiB body).
	Limits soap.Limits
	Writer soap.Writer
	// Now is the clock; nil means the system clock.
	Now func() time.Time
	Log *slog.Logger
}

// Client routes eHDSI SOAP calls to contact points. Safe for concurrent use.
type Client struct {
	cfg      Config
	mu       sync.Mutex
	breakers map[string]*breaker
	https    map[string]*http.Client
}

// New returns a routing client.
func New(cfg Config) (*Client, error) {
	if cfg.Directory == nil {
		return nil, errors.New("routing: no directory")
	}
	if cfg.Trust == nil {
		return nil, errors.New("routing: no trust store")
	}
	if len(cfg.TLS.Certificate) == 0 {
		return nil, errors.New("routing: no TLS client certificate")
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 10 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 25 * time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = 2
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 200 * time.Millisecond
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 2 * time.Second
	}
	return &Client{cfg: cfg, breakers: map[string]*breaker{}, https: map[string]*http.Client{}}, nil
}

func (c *Client) now() time.Time {
	return clock.Or(c.cfg.Now)()
}

func (c *Client) log() *slog.Logger {
	if c.cfg.Log != nil {
		return c.cfg.Log
	}
	return slog.Default()
}

// Directory returns the directory the client routes by.
func (c *Client) Directory() Directory { return c.cfg.Directory }

// Call is one outbound transaction.
type Call struct {
	Country     string
	Transaction Transaction
	// Request is sent to the directory's endpoint URL (Request.URL is
	// overwritten).
	Request ncpclient.Request
	// IdempotencyKey makes an ITI-41 call safe to resend: the partner
	// deduplicates by it (the eDispensation document unique id). It is
	// also sent as the Idempotency-Key HTTP header.
	IdempotencyKey string
	// MaxReplyBytes, when positive, caps this call's reply instead of
	// Config.Limits.MaxBytes: reading stops after that many bytes and the
	// reply is refused as ErrInvalidReply.
	MaxReplyBytes int64
}

// Result is a successful exchange: the reply is a SOAP response (not a
// fault) with HTTP 200.
type Result struct {
	Reply    *ncpclient.Reply
	Country  Country
	Endpoint Endpoint
	Attempts int
	// MessageID is the wsa:MessageID of the last attempt: each retry is
	// sent with a fresh one.
	MessageID string
}

type callKey struct{}

type callState struct {
	retryable bool
	attempts  atomic.Int32
	idemKey   string
	// sent is the wsa:MessageID in the request bytes (every attempt starts
	// from them); mu guards messageID, the one of the latest attempt.
	sent      string
	mu        sync.Mutex
	messageID string
}

// freshMessageID rewrites the request body of a retry with a new
// wsa:MessageID (same length, so MIME parts and lengths stay valid): a
// partner that guards against replays refuses a retry whose first attempt
// did arrive.
func (st *callState) freshMessageID(r *http.Request) (*http.Request, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sent == "" || r.Body == nil {
		return r, nil
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("retry: read the request body: %w", err)
	}
	id := soap.NewMessageID()
	b = bytes.Replace(b, []byte(st.sent), []byte(id), 1)
	st.messageID = id
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(b))
	out.ContentLength = int64(len(b))
	return out, nil
}

func (st *callState) lastMessageID() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.messageID
}

// BreakerState reports a country's circuit state (closed, open, half-open).
func (c *Client) BreakerState(cc string) string {
	return c.breaker(strings.ToUpper(cc)).state(c.now())
}

func (c *Client) breaker(cc string) *breaker {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.breakers[cc]
	if !ok {
		b = &breaker{cfg: c.cfg.Breaker}
		c.breakers[cc] = b
	}
	return b
}

// httpFor returns the (cached) HTTP client of an endpoint: Luxembourg's TLS
// certificate, the endpoint certificate pinned, retries by policy.
func (c *Client) httpFor(cc string, ep *Endpoint) *http.Client {
	fp := sha256.Sum256(ep.cert.Raw)
	key := cc + "|" + hostOf(ep.URL) + "|" + string(fp[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.https[key]; ok {
		return hc
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			Time:         c.now,
			Certificates: []tls.Certificate{c.cfg.TLS},
			MinVersion:   tls.VersionTLS12,
			// The chain, the pin and the country are checked by
			// VerifyConnection below, against luxncp's trust store and the
			// directory, not the system roots.
			InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
			VerifyConnection:   verifyPeer(ep.cert, c.cfg.Trust, cc, c.now),
		},
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: c.cfg.AttemptTimeout,
	}
	inner := &http.Client{Transport: countingTransport{tr}, Timeout: c.cfg.AttemptTimeout}
	rc := &retryablehttp.Client{
		HTTPClient:   inner,
		RetryMax:     c.cfg.Retries,
		RetryWaitMin: c.cfg.RetryWaitMin,
		RetryWaitMax: c.cfg.RetryWaitMax,
		CheckRetry:   checkRetry,
		Backoff:      jitterBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	hc := rc.StandardClient()
	c.https[key] = hc
	return hc
}

func hostOf(u string) string {
	s := strings.TrimPrefix(u, "https://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// countingTransport counts attempts of the call in the request context.
type countingTransport struct{ rt http.RoundTripper }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if st, ok := r.Context().Value(callKey{}).(*callState); ok {
		if st.attempts.Add(1) > 1 {
			fresh, err := st.freshMessageID(r)
			if err != nil {
				return nil, err
			}
			r = fresh
		}
		if st.idemKey != "" {
			r.Header.Set("Idempotency-Key", st.idemKey)
		}
	}
	return t.rt.RoundTrip(r)
}

// checkRetry is luxncp's retry policy: resend only calls marked safe, only
// after a communication failure or a 502/503/504 (or a 500 that is not a
// SOAP fault), never after a SOAP fault, a 4xx, a certificate failure or
// the end of the caller's context.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st, _ := ctx.Value(callKey{}).(*callState)
	safe := st != nil && st.retryable
	if err != nil {
		var ce *certError
		if errors.As(err, &ce) {
			return false, err
		}
		return safe, err
	}
	switch {
	case resp.StatusCode < 500:
		return false, nil
	case resp.StatusCode == http.StatusNotImplemented:
		return false, nil
	case isSOAP(resp.Header.Get("Content-Type")):
		// A SOAP fault is the partner's answer: never resend it.
		return false, nil
	}
	return safe, nil
}

func isSOAP(ct string) bool {
	ct = strings.ToLower(ct)
	return strings.Contains(ct, "soap+xml") || strings.Contains(ct, "multipart/related")
}

// jitterBackoff is exponential backoff with full jitter, capped at max.
func jitterBackoff(min, max time.Duration, attempt int, _ *http.Response) time.Duration {
	d := min << uint(attempt)
	if d <= 0 || d > max {
		d = max
	}
	return min/2 + time.Duration(rand.Int64N(int64(d-min/2)+1))
}

// Do sends one call to the contact point of call.Country and classifies the
// outcome. A SOAP fault or non-200 reply is an *Error (ErrRefused, ErrDown);
// so is every transport failure. Result.Reply is a readable SOAP response.
func (c *Client) Do(ctx context.Context, call Call) (*Result, error) {
	cc := strings.ToUpper(strings.TrimSpace(call.Country))
	country, err := c.cfg.Directory.Lookup(ctx, cc)
	if err != nil {
		if re, ok := AsError(err); ok {
			re.Transaction = call.Transaction
			return nil, re
		}
		return nil, &Error{Kind: ErrDown, Country: cc, Transaction: call.Transaction, Code: ehdsi.ErrGenericConnectionNotPossible,
			Public: "the directory of contact points is unavailable", Cause: err}
	}
	ep, ok := country.Endpoint(call.Transaction)
	if !ok {
		return nil, &Error{Kind: ErrUnknownCountry, Country: cc, Transaction: call.Transaction,
			Public: "the contact point of " + cc + " does not offer " + call.Transaction.Name(), Cause: ErrNoEndpoint}
	}
	res := &Result{Country: country, Endpoint: *ep}
	b := c.breaker(cc)
	if !b.allow(c.now()) {
		return nil, &Error{Kind: ErrDown, Country: cc, Transaction: call.Transaction, Code: ehdsi.ErrGenericConnectionNotPossible,
			Public: "the contact point of " + cc + " is failing; luxncp pauses calls to it for a while (circuit open)"}
	}
	st := &callState{retryable: call.Transaction != ITI41 || call.IdempotencyKey != "", idemKey: call.IdempotencyKey}
	cctx, cancel := context.WithTimeout(context.WithValue(ctx, callKey{}, st), c.cfg.CallTimeout)
	defer cancel()
	req := call.Request
	req.URL = ep.URL
	if req.MessageID == "" {
		req.MessageID = soap.NewMessageID()
	}
	st.sent, st.messageID = req.MessageID, req.MessageID
	lim := c.cfg.Limits
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxReplyBytes
	}
	if call.MaxReplyBytes > 0 {
		lim.MaxBytes = call.MaxReplyBytes
	}
	nc := &ncpclient.Client{HTTP: c.httpFor(cc, ep), Limits: lim, Writer: c.cfg.Writer}
	rep, err := nc.Call(cctx, req)
	res.Attempts = int(st.attempts.Load())
	res.MessageID = st.lastMessageID()
	res.Reply = rep
	rerr := c.classify(ctx, cctx, cc, call.Transaction, rep, err, lim.MaxBytes)
	if rerr != nil {
		rerr.Attempts = res.Attempts
	}
	b.done(c.now(), rerr != nil && rerr.CommunicationFailure())
	if rerr != nil {
		c.log().InfoContext(ctx, "outbound call failed", "country", cc, "transaction", string(call.Transaction), "kind", string(rerr.Kind),
			"code", string(rerr.Code), "attempts", res.Attempts)
		return res, rerr
	}
	return res, nil
}

// DefaultMaxReplyBytes caps a reply unless Config.Limits or the call says
// otherwise.
const DefaultMaxReplyBytes = 64 << 20

func (c *Client) classify(parent, cctx context.Context, cc string, tx Transaction, rep *ncpclient.Reply, err error, maxReply int64) *Error {
	e := &Error{Country: cc, Transaction: tx, Code: ehdsi.ErrGenericConnectionNotPossible}
	if err != nil {
		e.Cause = err
		var ce *certError
		var ne net.Error
		switch {
		case errors.As(err, &ce):
			e.Kind, e.Public = ErrUntrusted, ce.reason
		case parent.Err() != nil:
			e.Kind, e.Public = ErrSlow, "the request was cancelled before "+cc+" answered"
		case errors.Is(err, context.DeadlineExceeded) || cctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
			e.Kind, e.Public = ErrSlow, "the contact point of "+cc+" did not answer in time"
		default:
			e.Kind, e.Public = ErrDown, "the contact point of "+cc+" cannot be reached"
		}
		return e
	}
	if rep == nil {
		e.Kind, e.Public = ErrDown, "no reply from the contact point of "+cc
		return e
	}
	e.HTTPStatus = rep.Status
	if int64(len(rep.Raw)) > maxReply {
		// Reading stopped at the cap; nothing of it was parsed.
		e.Kind = ErrInvalidReply
		e.Public = fmt.Sprintf("the reply of the contact point of %s is larger than %d bytes; luxncp refuses it", cc, maxReply)
		return e
	}
	if rep.Fault != nil {
		// The partner's code and reason are data: a known eHDSI code or
		// ERROR_GENERIC with the original named, a bounded plain reason.
		code, detail := peertext.ErrorCode(string(rep.Fault.Code), ehdsi.ErrGeneric)
		e.Kind, e.Code = ErrRefused, code
		e.Public = "the contact point of " + cc + " refused the request"
		if reason := peertext.CleanN(rep.Fault.Public, 300); reason != "" {
			e.Public += ": " + reason
		}
		if detail != "" {
			e.Public += " (" + detail + ")"
		}
		return e
	}
	switch {
	case rep.Status >= 400 && rep.Status < 500:
		e.Kind, e.Code = ErrRefused, ehdsi.ErrGeneric
		e.Public = "the contact point of " + cc + " refused the request (HTTP " + http.StatusText(rep.Status) + ")"
		return e
	case rep.Status >= 500:
		e.Kind = ErrDown
		e.Public = "the contact point of " + cc + " failed (HTTP " + http.StatusText(rep.Status) + ")"
		return e
	case rep.Env == nil:
		e.Kind = ErrInvalidReply
		e.Public = "the contact point of " + cc + " sent a reply that is not a readable SOAP message"
		return e
	}
	return nil
}
