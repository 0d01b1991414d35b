// Package idtoken verifies the tokens of Luxembourg's national identity
// provider: OpenID Connect ID/access tokens in JWT form (OpenID Connect
// Core 1.0 §3.1.3.7, RFC 7519, JWS RFC 7515, JWK RFC 7517), signed with an
// asymmetric key the issuer publishes (discovery document, JWKS; cached and
// refreshed on rotation), for one issuer and one audience, within their
// validity, and proving a multi-factor login (acr, amr per RFC 8176). It
// also holds a development issuer (DevIssuer) for `make run` and the tests,
// with demo professionals and patients.
//
// The claims luxncp reads, beyond the registered ones, are documented on
// Claims and in docs/identity.md.
package idtoken
