// Package node assembles a luxncp gateway from configuration: trust stores,
// assertion verifier, audit recorder, national source, and the Country A
// IHE endpoints mounted on one http.Handler. `luxncp serve` and every Lambda
// function build the same Node, so there is no code path only the demo uses:
// the hosts differ only in how the handler is reached.
package node
