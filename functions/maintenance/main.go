// Command maintenance is luxncp's scheduled AWS Lambda function. EventBridge
// invokes it with {"task":"directory-refresh"} (validate the incoming eHDSI
// directory and publish it to the configuration bucket),
// {"task":"certificate-expiry"} (days to expiry of own and trusted
// certificates as CloudWatch Embedded Metric Format records on stdout:
// metric CertificateDaysToExpiry, namespace luxncp) or
// {"task":"outbox-sweep"} (queue accepted eDispensations whose SQS send
// failed).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/luxncp/luxncp/internal/node"
)

func main() {
	p, err := node.MaintenanceFromEnvironment(context.Background())
	if err != nil {
		slog.Error("luxncp maintenance: start", "error", err.Error())
		os.Exit(1)
	}
	m := &maintenance{config: p.Config, put: p.S3, bucket: p.Env.ConfigBucket, env: p.Env, source: p.DirectorySource,
		http: &http.Client{Timeout: 30 * time.Second}, out: os.Stdout, log: p.Log}
	if p.Outbox != nil {
		m.outbox = p.Outbox
	}
	lambda.Start(m.handle)
}
