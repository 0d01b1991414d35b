// Command xdr is luxncp's XDR endpoint as an AWS Lambda function behind an
// API Gateway HTTP API (payload format 2.0, mutual TLS). It serves the same
// handler `luxncp serve` mounts locally.
package main

import "github.com/luxncp/luxncp/internal/node"

func main() { node.RunLambda("xdr") }
