// Command xcpd is the XCPD endpoint of luxncp as an AWS Lambda function behind
// an API Gateway HTTP API (payload format 2.0, mutual TLS). It wires the
// same handler that `luxncp serve` mounts locally.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/node"
)

func main() {
	n, err := node.FromEnvironment(context.Background())
	if err != nil {
		slog.Error("luxncp xcpd: start", "error", err.Error())
		os.Exit(1)
	}
	h, _ := n.Endpoint("xcpd")
	lambda.Start(host.LambdaHandler(h))
}
