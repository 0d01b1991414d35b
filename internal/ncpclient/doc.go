// Package ncpclient is luxncp's eHDSI client side: it mints the HCP and TRC
// assertions of a Country B node, builds IHE request bodies (XCPD, XCA
// query and retrieve, XDR), wraps them in SOAP 1.2 with WS-Addressing and
// WS-Security, sends them over mutual TLS and reads the reply — a response
// envelope or a SOAP fault with its eHDSI code. The operator CLI, the
// conformance suite and the Country B router all use it.
package ncpclient
