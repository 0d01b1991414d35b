package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/outbox"
)

// MaintenanceParts are what the scheduled maintenance function works on,
// built from the environment terraform/ sets (LUXNCP_CONFIG_BUCKET, the
// outbox's LUXNCP_OUTBOX_TABLE and LUXNCP_OUTBOX_QUEUE_URL, optional).
type MaintenanceParts struct {
	Env AWSEnv
	// Config reads the configuration bucket at every call (a
	// one-second TTL: the function runs daily); S3 writes to it.
	Config *awsconfig.Store
	S3     *s3.Client
	// Outbox is nil when no outbox table is configured.
	Outbox *outbox.DynamoStore
	// DirectorySource is LUXNCP_DIRECTORY_SOURCE: where the incoming
	// eHDSI directory is read (an https URL or a key in the bucket).
	DirectorySource string
	Log             *slog.Logger
}

// MaintenanceFromEnvironment builds the maintenance function's parts.
func MaintenanceFromEnvironment(ctx context.Context) (MaintenanceParts, error) {
	var p MaintenanceParts
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		return p, err
	}
	if p.Env, err = LoadAWSEnv(nil); err != nil {
		return p, err
	}
	p.Log = NewLogger(cfg.LogLevel, os.Stderr)
	p.DirectorySource = os.Getenv("LUXNCP_DIRECTORY_SOURCE")
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return p, fmt.Errorf("aws config: %w", err)
	}
	cl := NewAWSClients(awsCfg)
	p.S3 = cl.S3
	if p.Config, err = awsconfig.New(cl.S3, awsconfig.Options{Bucket: p.Env.ConfigBucket, TTL: time.Second}); err != nil {
		return p, fmt.Errorf("node: %w", err)
	}
	if p.Env.OutboxTable != "" {
		if p.Outbox, err = outbox.NewDynamo(cl.DynamoDB, cl.SQS, outbox.DynamoOptions{Table: p.Env.OutboxTable, QueueURL: p.Env.OutboxQueueURL, Log: p.Log}); err != nil {
			return p, fmt.Errorf("node: %w", err)
		}
	}
	return p, nil
}
