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
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
)

func main() {
	m, err := fromEnvironment(context.Background())
	if err != nil {
		slog.Error("luxncp maintenance: start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(m.handle)
}

func fromEnvironment(ctx context.Context) (*maintenance, error) {
	cfg, err := node.ConfigFromEnv(nil)
	if err != nil {
		return nil, err
	}
	env, err := node.LoadAWSEnv(nil)
	if err != nil {
		return nil, err
	}
	log := node.NewLogger(cfg.LogLevel, os.Stderr)
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	cl := node.NewAWSClients(awsCfg)
	store, err := awsconfig.New(cl.S3, awsconfig.Options{Bucket: env.ConfigBucket, TTL: time.Second})
	if err != nil {
		return nil, err
	}
	m := &maintenance{
		config: store, put: cl.S3, bucket: env.ConfigBucket, env: env,
		source: os.Getenv("LUXNCP_DIRECTORY_SOURCE"), http: &http.Client{Timeout: 30 * time.Second},
		out: os.Stdout, log: log,
	}
	if env.OutboxTable != "" {
		if m.outbox, err = outbox.NewDynamo(cl.DynamoDB, cl.SQS, outbox.DynamoOptions{Table: env.OutboxTable, QueueURL: env.OutboxQueueURL, Log: log}); err != nil {
			return nil, err
		}
	}
	return m, nil
}
