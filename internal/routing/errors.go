package routing

import (
	"errors"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// Kind classifies a routing failure for the professional: what happened to
// their request, in words they can act on.
type Kind string

// The failure kinds. They are sentinels too: errors.Is(err, ErrDown).
const (
	// ErrUnknownCountry: the directory has no contact point for the country
	// (or it does not offer the transaction).
	ErrUnknownCountry Kind = "unknown-country"
	// ErrDown: the contact point could not be reached, answered with a
	// server error, or its circuit breaker is open.
	ErrDown Kind = "down"
	// ErrSlow: the contact point did not answer within the time limit.
	ErrSlow Kind = "slow"
	// ErrUntrusted: the contact point's TLS certificate is not the one in
	// the directory, does not chain to the trust store, is expired, or
	// names another country.
	ErrUntrusted Kind = "untrusted"
	// ErrRefused: the contact point answered with a SOAP fault (the remote
	// eHDSI code is in Error.Code) or an HTTP 4xx.
	ErrRefused Kind = "refused"
	// ErrInvalidReply: the reply is not a readable SOAP message, or a
	// signature in it does not verify.
	ErrInvalidReply Kind = "invalid-reply"
)

func (k Kind) Error() string { return string(k) }

// Error is a routing failure.
type Error struct {
	Kind        Kind
	Country     string
	Transaction Transaction
	// Code is the remote eHDSI error code (ErrRefused), or the code luxncp
	// assigns a communication failure.
	Code ehdsi.Code
	// Public is a sentence for the professional; never patient data.
	Public string
	// Attempts is how many HTTP attempts were made (0: none).
	Attempts int
	// HTTPStatus of the last reply, when there was one.
	HTTPStatus int
	Cause      error
}

func (e *Error) Error() string {
	s := "routing " + e.Country
	if e.Transaction != "" {
		s += " " + string(e.Transaction)
	}
	s += ": " + string(e.Kind)
	if e.Code != "" {
		s += " (" + string(e.Code) + ")"
	}
	if e.Public != "" {
		s += ": " + e.Public
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is matches the Kind sentinels.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// CommunicationFailure reports whether the error is a failure to talk to the
// contact point at all (audited as EHDSI-CF), as opposed to a refusal.
func (e *Error) CommunicationFailure() bool {
	switch e.Kind {
	case ErrDown, ErrSlow, ErrUntrusted, ErrInvalidReply:
		return true
	}
	return false
}

// AsError finds a *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var re *Error
	ok := errors.As(err, &re)
	return re, ok
}
