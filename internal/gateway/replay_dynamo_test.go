package gateway_test

import (
	"context"
	"errors"
	"strings"
	"sync"
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

func TestDynamoReplayGuard(t *testing.T) {
	g, f, now := dynamoGuard(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		id      string
		advance time.Duration
		want    bool
	}{
		{"first sight", "urn:uuid:1", 0, false},
		{"replayed", "urn:uuid:1", 0, true},
		{"another message", "urn:uuid:2", 0, false},
		{"still inside the window", "urn:uuid:1", 9 * time.Minute, true},
		// Expired but not yet removed by DynamoDB's TTL: a new sighting.
		{"after expiry", "urn:uuid:1", 2 * time.Minute, false},
		{"replayed after renewal", "urn:uuid:1", 0, true},
	}
	for _, s := range steps {
		*now = now.Add(s.advance)
		got, err := g.Seen(ctx, s.id, now.Add(10*time.Minute))
		if err != nil || got != s.want {
			t.Fatalf("%s: Seen = %v, %v; want %v", s.name, got, err, s.want)
		}
	}
	items := f.Items("luxncp-idempotency")
	if len(items) != 2 || !strings.Contains(string(items[0]["key"]), "msgid#urn:uuid:") || items[0]["expires_at"] == nil {
		t.Fatalf("items = %s", items)
	}
}

func TestDynamoReplayGuardConcurrent(t *testing.T) {
	g, _, now := dynamoGuard(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, err := g.Seen(context.Background(), "urn:uuid:race", now.Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			if !seen {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d requests saw the message as new, want 1", fresh)
	}
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
