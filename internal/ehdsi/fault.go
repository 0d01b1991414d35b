package ehdsi

import (
	"errors"
	"fmt"
)

// FaultKind says how a failure reaches the wire. SOAP-level faults replace the
// whole response (env:Sender / env:Receiver); application errors travel inside
// a normal IHE response (acknowledgementDetail, RegistryErrorList).
type FaultKind int

const (
	// KindSender is a SOAP 1.2 env:Sender fault: the request was at fault
	// (malformed, unauthenticated, unauthorised). HTTP 400.
	KindSender FaultKind = iota
	// KindReceiver is a SOAP 1.2 env:Receiver fault: luxncp or the national
	// backend failed. HTTP 500.
	KindReceiver
	// KindApplication is carried in the IHE response body with HTTP 200.
	KindApplication
)

// Severity of an eHDSI error as IHE reports it.
type Severity string

const (
	SeverityError   Severity = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
	SeverityWarning Severity = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"
)

// Fault is a protocol failure. Code and Public go on the wire; Cause is
// private (it may hold patient data) and is logged once, at debug level when
// it does, by the edge that writes the fault.
type Fault struct {
	Kind   FaultKind
	Code   Code
	Public string // human-readable reason sent to the partner; never patient data
	// Location optionally names the element or parameter at fault.
	Location string
	Cause    error
	// Level, when set, is the severity the partner sees (from the dialect
	// table); unset, a WARNING_* code is a warning and anything else an
	// error.
	Level Severity
}

func (f *Fault) Error() string {
	msg := string(f.Code) + ": " + f.Public
	if f.Cause != nil {
		msg += ": " + f.Cause.Error()
	}
	return msg
}

func (f *Fault) Unwrap() error { return f.Cause }

// Severity is Level when set; otherwise Warning for WARNING_* codes and
// Error for the rest.
func (f *Fault) Severity() Severity {
	if f.Level != "" {
		return f.Level
	}
	if IsWarning(f.Code) {
		return SeverityWarning
	}
	return SeverityError
}

// Message returns the public text: Public, or the eHDSI description of Code.
func (f *Fault) Message() string {
	if f.Public != "" {
		return f.Public
	}
	return Describe(f.Code)
}

// Sender builds a KindSender fault.
func Sender(code Code, public string, cause error) *Fault {
	return &Fault{Kind: KindSender, Code: code, Public: public, Cause: cause}
}

// Receiver builds a KindReceiver fault.
func Receiver(code Code, public string, cause error) *Fault {
	return &Fault{Kind: KindReceiver, Code: code, Public: public, Cause: cause}
}

// App builds a KindApplication fault (an error inside a normal IHE response).
func App(code Code, public string, cause error) *Fault {
	return &Fault{Kind: KindApplication, Code: code, Public: public, Cause: cause}
}

// Appf is App with a formatted public message.
func Appf(code Code, cause error, format string, args ...any) *Fault {
	return App(code, fmt.Sprintf(format, args...), cause)
}

// AsFault finds a *Fault in err's chain. When there is none it wraps err as
// a Receiver fault with code fallback, so that nothing unclassified reaches a
// partner as anything but a generic internal error.
func AsFault(err error, fallback Code) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return Receiver(fallback, Describe(fallback), err)
}
