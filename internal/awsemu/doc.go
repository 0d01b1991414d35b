// Package awsemu starts independent AWS emulators on loopback for tests,
// so the AWS path is tested against someone else's reading of the AWS APIs
// (their wire protocols and limits), not luxncp's own:
//
//   - DynamoDB: dynalite (npm), which enforces the 400 KB item limit, the
//     25-item batch limit and the expression grammar.
//   - SQS: goaws (github.com/Admiral-Piett/goaws), behind a protocol bridge:
//     the Go module proxy only has goaws v0.4.x, which speaks the SQS Query
//     protocol, while aws-sdk-go-v2's SQS client speaks only the JSON
//     protocol. The bridge translates the envelopes of the operations
//     luxncp uses; queues, receipt handles, visibility and deletion are
//     goaws's.
//   - KMS: local-kms (github.com/nsmithuk/local-kms): keys, Sign, GetPublicKey.
//   - S3: gofakes3, in process (a Go dependency).
//
// scripts/install-aws-emulators (run by scripts/install-test-tools and
// make test) installs the first three, pinned, into the tools cache
// ($LUXNCP_TOOLS_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/luxncp/tools).
// A missing emulator fails the test naming that script: nothing skips.
//
// dynalite binds the loopback address it is given; goaws and local-kms
// listen on every interface of their free port (neither has a host option);
// the tests talk to them over 127.0.0.1 only.
package awsemu
