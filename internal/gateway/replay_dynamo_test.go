package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/luxncp/luxncp/internal/awsfake"
	"github.com/luxncp/luxncp/internal/gateway"
)

func dynamoGuard(t *testing.T) (*gateway.DynamoReplayGuard, *awsfake.DynamoDB, *time.Time) {
	t.Helper()
	f := awsfake.NewDynamoDB()
	t.Cleanup(f.Close)
	f.CreateTable("luxncp-idempotency", "key", "")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	g := &gateway.DynamoReplayGuard{DB: dynamodb.NewFromConfig(f.AWSConfig()), Table: "luxncp-idempotency",
		Now: func() time.Time { return now }, Timeout: time.Second}
	return g, f, &now
}

func TestDynamoReplayGuardFailures(t *testing.T) {
	g, f, now := dynamoGuard(t)
	ctx := context.Background()
	// Brief throttling: the SDK retries.
	f.FailNext("PutItem", 2, awsfake.Failure{Code: awsfake.Throttling})
	if seen, err := g.Seen(ctx, "a", now.Add(time.Hour)); err != nil || seen {
		t.Fatalf("under brief throttling: %v, %v", seen, err)
	}
	// Sustained throttling: an error, never a silent "not seen".
	f.FailAlways("PutItem", awsfake.Failure{Code: awsfake.ProvisionedThroughput})
	if _, err := g.Seen(ctx, "b", now.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), awsfake.ProvisionedThroughput) {
		t.Fatalf("sustained throttling: %v", err)
	}
	f.Heal()
	// A hung table: the call times out.
	g.Timeout = 50 * time.Millisecond
	f.FailAlways("PutItem", awsfake.Failure{Delay: 2 * time.Second})
	_, err := g.Seen(ctx, "c", now.Add(time.Hour))
	f.Heal()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung table: %v", err)
	}
}
