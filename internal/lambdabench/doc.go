// Package lambdabench runs Lambda `bootstrap` executables outside AWS: a
// fake of the Lambda Runtime API (the HTTP interface a provided.al2023
// runtime polls, version 2018-06-01: invocation/next, invocation/{id}/
// response and /error, init/error) and a harness that starts a bootstrap
// with AWS_LAMBDA_RUNTIME_API pointing at it and measures its cold start
// (process start → runtime ready → first invocation answered) and peak
// resident memory (VmHWM from /proc/<pid>/status, Linux only).
// Spec: AWS Lambda Developer Guide, "Using the Lambda runtime API for
// custom runtimes". internal/awsrun (make run-aws, the all-functions
// test) runs the functions under the same RuntimeAPI.
package lambdabench
