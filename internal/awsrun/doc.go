// Package awsrun is the AWS deployment of terraform/ on local emulators
// (internal/awsemu): the resources terraform/main.tf creates (buckets,
// tables, queue, KMS keys) and what the operator uploads (docs/deploy.md),
// each function's environment evaluated from terraform/main.tf's module
// "function" (so the two cannot drift), the API Gateway HTTP API routes of
// local.functions, a local AWS Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) under
// which the real function binaries (functions/*) run their lambda.Start
// loop, and an mTLS front that hands each request to its route's function
// as an API Gateway HTTP API payload format 2.0 event. make run-aws
// (luxncp serve-aws) and the all-functions test build on it.
package awsrun
