// Package routing is luxncp's way out to the other national contact points
// when it acts as Country B: a directory shaped like eHDSI service metadata
// (SMP: participant urn:ehealth:<cc>:ncp-idp, one endpoint URL and endpoint
// certificate per transaction ITI-55, ITI-38, ITI-39, ITI-41), and an
// outbound SOAP client over mutual TLS (IHE ITI TF-2 transport, eHDSI
// security) with the certificate of the endpoint pinned to the directory's,
// per-call timeouts, bounded retries with backoff and jitter where a retry
// is safe (XCPD and XCA; XDR only with an idempotency key; never a SOAP
// fault, never a 4xx), a circuit breaker per country, and typed errors that
// say whether a country is unknown, down, slow, untrusted or refused the
// request (with the remote eHDSI code).
package routing
