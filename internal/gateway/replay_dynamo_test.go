package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/gateway"
)

func dynamoGuard(t *testing.T) (*gateway.DynamoReplayGuard, *awsemu.Faults, *time.Time) {
	t.Helper()
	f := awsemu.NewFaults(t, awsemu.DynamoDB(t))
	db := dynamodb.NewFromConfig(awsemu.RetryingConfig(f.URL))
	awsemu.CreateTable(t, db, "luxncp-idempotency", "key")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	g := &gateway.DynamoReplayGuard{DB: db, Table: "luxncp-idempotency",
		Now: func() time.Time { return now }, Timeout: time.Second}
	return g, f, &now
}

func TestDynamoReplayGuardFailures(t *testing.T) {
	g, f, now := dynamoGuard(t)
	ctx := context.Background()
	// Brief throttling: the SDK retries.
	f.FailNext("PutItem", 2, awsemu.Failure{Code: awsemu.Throttling})
	if seen, err := g.Seen(ctx, "a", now.Add(time.Hour)); err != nil || seen {
		t.Fatalf("under brief throttling: %v, %v", seen, err)
	}
	// Sustained throttling: an error, never a silent "not seen".
	f.FailAlways("PutItem", awsemu.Failure{Code: awsemu.ProvisionedThroughput})
	if _, err := g.Seen(ctx, "b", now.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), awsemu.ProvisionedThroughput) {
		t.Fatalf("sustained throttling: %v", err)
	}
	f.Heal()
	// A hung table: the call times out.
	g.Timeout = 50 * time.Millisecond
	f.FailAlways("PutItem", awsemu.Failure{Delay: 2 * time.Second})
	_, err := g.Seen(ctx, "c", now.Add(time.Hour))
	f.Heal()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung table: %v", err)
	}
}
