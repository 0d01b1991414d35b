// Package soap reads and writes the SOAP 1.2 messages of the eHDSI
// transactions (IHE ITI-55 XCPD, ITI-38/39 XCA, ITI-41 XDR) as OpenNCP-based
// national contact points exchange them: SOAP 1.2 (W3C SOAP Version 1.2 Part
// 1 and 2, application/soap+xml), WS-Addressing 1.0 (W3C, SOAP binding) and
// MTOM/XOP (W3C SOAP Message Transmission Optimization Mechanism and XML-binary
// Optimized Packaging, multipart/related; type="application/xop+xml").
//
// Read applies input limits (body size, nesting depth, element count, MIME
// parts) and rejects DTDs, entity declarations, processing instructions and
// non-UTF-8 charsets before any tree is built; it also rejects XML that
// encoding/xml would misread (unbound prefixes, names with several colons,
// duplicate attributes, mismatched tags). The parsed document is kept as read
// and never re-serialised, so that signature verification canonicalises the
// security header from exactly what the partner sent.
//
// Write and WriteFault serialise a response once, with exact prefixes, as
// plain SOAP or as an MTOM/XOP multipart; Writer.Marshal gives the same
// bytes to a client, and ReadResponse with Envelope.Fault reads a partner's
// answer. Every failure of Read is an *ehdsi.Fault of kind KindSender
// whose public message says what was wrong without echoing the input.
//
// Faults on the wire: env:Sender (HTTP 400) or env:Receiver (HTTP 500),
// Reason = the fault's public message, the eHDSI code as Subcode QName
// ehdsi:<code> (namespace NSErrorCode) and, in Detail, as an ebRS
// RegistryErrorList/RegistryError with errorCode, codeContext and
// severity, the form OpenNCP uses for eHDSI errors in XCA and XDR.
package soap
