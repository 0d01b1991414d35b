// Package e2e runs the conformance suite (conformance/cases) and the load
// mode against a luxncp node built in the test from internal/node and the
// demo national backend, over mutual TLS as `luxncp serve` does. It holds
// tests only; it is apart from internal/conformance so that the runner's
// unit tests do not depend on the whole gateway.
package e2e
