package idtoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/luxncp/luxncp/internal/clock"
)

// Error is a refused token: a stable code and a message safe to show the
// caller; Cause is for the log.
type Error struct {
	Code    string // token-missing, token-malformed, token-signature, token-unknown-key, …
	Message string
	// Unavailable: the issuer's keys could not be read (not the caller's fault).
	Unavailable bool
	Cause       error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// HTTPStatus is the status a refusal answers: 401, or 503 when the keys
// were unavailable.
func (e *Error) HTTPStatus() int {
	if e.Unavailable {
		return 503
	}
	return 401
}

// Challenge is the WWW-Authenticate value of a 401 (RFC 6750).
const Challenge = `Bearer realm="luxncp", error="invalid_token"`

// AsError returns err as a refusal (an unexpected error becomes
// token-invalid).
func AsError(err error) *Error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return &Error{Code: "token-invalid", Message: "the token could not be verified", Cause: err}
}

func refuse(code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, Cause: cause}
}

// ErrMissing: no bearer token was sent.
var ErrMissing = refuse("token-missing", "a bearer token from the national identity provider is required (Authorization: Bearer …)", nil)

// Algorithms are the only signature algorithms accepted: asymmetric ones.
// "none" and the HMAC family (HS256 with the public key as secret) never
// parse.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}

// KeySource returns the issuer's public signing keys with a key id.
type KeySource interface {
	Keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error)
}

// Verifier checks tokens of one issuer for one audience.
type Verifier struct {
	Issuer   string
	Audience string
	Keys     KeySource
	// ACR: the acr values that prove a multi-factor login (default the
	// eIDAS levels substantial and high). amr "mfa", or two factors of
	// different kinds, also do.
	ACR []string
	// Skew tolerated on exp, nbf and iat (default 60 s).
	Skew time.Duration
	// MaxLifetime: a token valid for longer than this (exp − iat) is
	// refused (default 12 h).
	MaxLifetime time.Duration
	Now         func() time.Time
}

// MaxTokenBytes bounds the token read from a request.
const MaxTokenBytes = 16 << 10

// Verify checks raw (a compact JWS) and returns its claims: signature by a
// key of the issuer named by kid, issuer, audience, exp, nbf, iat, and a
// multi-factor login. Every refusal is an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, ErrMissing
	}
	if len(raw) > MaxTokenBytes {
		return nil, refuse("token-malformed", "the token is too large", nil)
	}
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return nil, refuse("token-malformed", "the token is not a JWT signed with RS256, PS256 or ES256", err)
	}
	if len(tok.Headers) != 1 {
		return nil, refuse("token-malformed", "the token must carry exactly one signature", nil)
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return nil, refuse("token-unknown-key", "the token names no signing key (kid)", nil)
	}
	keys, err := v.Keys.Keys(ctx, h.KeyID)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, &Error{Code: "token-keys-unavailable", Message: "the national identity provider's keys are unavailable; retry later", Unavailable: true, Cause: err}
	}
	if len(keys) == 0 {
		return nil, refuse("token-unknown-key", "the token is signed with a key the national identity provider does not publish", fmt.Errorf("kid %q", h.KeyID))
	}
	var c Claims
	var verr error
	ok := false
	for _, k := range keys {
		if !k.IsPublic() || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != h.Algorithm) {
			continue
		}
		if verr = tok.Claims(k.Key, &c); verr == nil {
			ok = true
			break
		}
	}
	if !ok {
		return nil, refuse("token-signature", "the token's signature does not verify with the national identity provider's key", verr)
	}
	if err := v.check(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (v *Verifier) check(c *Claims) *Error {
	now := clock.Or(v.Now)()
	skew := v.Skew
	if skew == 0 {
		skew = time.Minute
	}
	maxLife := v.MaxLifetime
	if maxLife == 0 {
		maxLife = 12 * time.Hour
	}
	if v.Issuer == "" || c.Issuer != v.Issuer {
		return refuse("token-issuer", "the token is not from the national identity provider", fmt.Errorf("iss %q, want %q", c.Issuer, v.Issuer))
	}
	if v.Audience == "" || !c.Audience.Contains(v.Audience) {
		return refuse("token-audience", "the token is not meant for luxncp (audience)", fmt.Errorf("aud %q, want %q", []string(c.Audience), v.Audience))
	}
	if c.Expiry == nil || c.IssuedAt == nil {
		return refuse("token-malformed", "the token has no expiry (exp) or issue time (iat)", nil)
	}
	exp, iat := c.Expiry.Time(), c.IssuedAt.Time()
	switch {
	case !now.Before(exp.Add(skew)):
		return refuse("token-expired", "the token has expired; log in again", fmt.Errorf("exp %s, now %s", exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	case c.NotBefore != nil && now.Add(skew).Before(c.NotBefore.Time()):
		return refuse("token-not-yet-valid", "the token is not valid yet (nbf): check the clocks", fmt.Errorf("nbf %s, now %s", c.NotBefore.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	case now.Add(skew).Before(iat):
		return refuse("token-not-yet-valid", "the token was issued in the future (iat): check the clocks", fmt.Errorf("iat %s, now %s", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	case exp.Sub(iat) > maxLife:
		return refuse("token-malformed", "the token is valid for too long", fmt.Errorf("lifetime %s > %s", exp.Sub(iat), maxLife))
	}
	if strings.TrimSpace(c.Subject) == "" {
		return refuse("token-malformed", "the token has no subject (sub)", nil)
	}
	acrs := v.ACR
	if len(acrs) == 0 {
		acrs = []string{ACRSubstantial, ACRHigh}
	}
	if !c.multiFactor(acrs) {
		return refuse("token-no-mfa", "the login was not multi-factor (acr/amr): log in with a second factor", fmt.Errorf("acr %q amr %q", c.ACR, c.AMR))
	}
	return nil
}

// Bearer returns the token of an Authorization header value ("Bearer
// <token>", case-insensitive scheme), or "" when there is none.
func Bearer(header string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
