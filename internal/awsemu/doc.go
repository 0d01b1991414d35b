// Package awsemu starts independent AWS emulators on loopback, so the AWS
// path is tested (and make run-aws runs) against someone else's reading of
// the AWS APIs (their wire protocols and limits), not luxncp's own:
//
//   - DynamoDB: dynalite (npm), which enforces the 400 KB item limit, the
//     25-item batch limit and the expression grammar. It serves the
//     outbox and idempotency tables, the replay guard and Country B's
//     shared submissions.
//   - SQS: goaws (github.com/Admiral-Piett/goaws), behind a protocol bridge:
//     the Go module proxy only has goaws v0.4.x, which speaks the SQS Query
//     protocol, while aws-sdk-go-v2's SQS client speaks only the JSON
//     protocol. The bridge translates the envelopes of the operations
//     luxncp uses; queues, receipt handles, visibility and deletion are
//     goaws's. It serves the outbox queue.
//   - KMS: local-kms (github.com/nsmithuk/local-kms): keys, aliases, Sign,
//     GetPublicKey, for the seal and the TLS client key.
//   - S3: gofakes3, in process (a Go dependency): the audit and
//     configuration buckets.
//
// What is not an emulator, each for a feature no emulator has:
//
//   - Faults, a proxy in front of an emulator that fails chosen calls
//     (throttling, internal errors, a disabled key, a hung service) or
//     rewrites them (a key answering for another); every other call is
//     the emulator's.
//   - PSSKMS, a stand-in for KMS's RSASSA-PSS signing alone: local-kms
//     signs PSS with the maximum salt, AWS KMS (and TLS 1.3) with the
//     digest's length. It enforces KMS's Sign limits.
//
// scripts/install-aws-emulators (run by scripts/install-test-tools, make
// test and make run-aws) installs the first three, pinned, into the tools
// cache ($LUXNCP_TOOLS_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/luxncp/tools).
// A missing emulator fails the test naming that script: nothing skips.
// Start (tests) and StartAll (make run-aws) start each emulator process in
// a process group of its own and kill the group when done.
//
// dynalite binds the loopback address it is given; goaws and local-kms
// listen on every interface of their free port (neither has a host option);
// luxncp talks to them over 127.0.0.1 only.
package awsemu
