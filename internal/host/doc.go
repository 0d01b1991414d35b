// Package host runs luxncp's HTTP handlers on either of their two hosts:
// AWS Lambda behind an API Gateway HTTP API (payload format 2.0, mutual TLS,
// client certificate in requestContext.authentication.clientCert) and a local
// net/http TLS server that requests client certificates itself. Both put the
// same Peer (the client certificate chain as presented) in the request
// context; nothing below this package knows which host it runs on.
package host
