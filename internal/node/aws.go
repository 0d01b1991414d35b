package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/luxncp/luxncp/internal/audit/s3sink"
)

// AWSOptions returns the Options that select the AWS twins of the edges
// from the environment: LUXNCP_AUDIT_BUCKET (S3 Object Lock audit sink,
// retention LUXNCP_AUDIT_RETENTION, spool under the state dir). Unset
// variables keep the local twins, so the same binary runs anywhere.
func AWSOptions(ctx context.Context, cfg Config, log *slog.Logger) (Options, error) {
	var opt Options
	bucket := os.Getenv("LUXNCP_AUDIT_BUCKET")
	if bucket == "" {
		return opt, nil
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return opt, fmt.Errorf("aws config: %w", err)
	}
	retention := s3sink.DefaultRetention
	if v := os.Getenv("LUXNCP_AUDIT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return opt, fmt.Errorf("LUXNCP_AUDIT_RETENTION: %w", err)
		}
		retention = d
	}
	sink, err := s3sink.New(ctx, s3.NewFromConfig(awsCfg), s3sink.Options{
		Bucket: bucket, Prefix: os.Getenv("LUXNCP_AUDIT_PREFIX"), Retention: retention,
		SpoolDir: filepath.Join(cfg.Defaults().StateDir, "audit-spool"), Logger: log,
	})
	if err != nil {
		return opt, err
	}
	opt.AuditSink = sink
	return opt, nil
}

// FromEnvironment builds the node a Lambda function (or any host) runs:
// configuration from LUXNCP_* variables, AWS twins where configured.
func FromEnvironment(ctx context.Context) (*Node, error) {
	cfg, err := FromEnv(nil)
	if err != nil {
		return nil, err
	}
	log := NewLogger(cfg.LogLevel, os.Stderr)
	opt, err := AWSOptions(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return New(cfg, log, opt)
}
