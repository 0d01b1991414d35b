// Command dispatcher is the eDispensation outbox dispatcher as an AWS Lambda
// function triggered by the outbox's SQS queue: each queue message names an
// outbox key, delivered to the national system with the same logic as the
// local dispatcher; failures are reported per message
// (ReportBatchItemFailures), so SQS redelivers only those.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/luxncp/luxncp/internal/node"
)

func main() {
	d, _, err := node.DispatcherFromEnvironment(context.Background())
	if err != nil {
		slog.Error("luxncp dispatcher: start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start((&handler{d: d, log: d.Log}).handle)
}
