// Package ehdsi holds the eHDSI (MyHealth@EU) constants luxncp speaks on the
// wire — error codes, class codes, template ids, permissions, SOAP actions,
// audit event ids — and Fault, the typed protocol error that carries a public
// part (SOAP fault code, eHDSI error code, message) and a private cause.
//
// The error codes and their descriptions are the eHDSI ones as OpenNCP lists
// them (OpenNCPErrorCode), used verbatim so that partner gateways can branch
// on them.
package ehdsi
