package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ReplayTableAPI is the part of the DynamoDB client the DynamoReplayGuard
// uses (*dynamodb.Client satisfies it).
type ReplayTableAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// DynamoReplayGuard is the ReplayGuard shared by every Lambda instance: a
// conditional put of the MessageID on the idempotency table (hash key
// "key", TTL attribute "expires_at" in epoch seconds). DynamoDB removes
// expired items lazily (up to days later), so an item past its expiry
// counts as absent and is overwritten with a put conditioned on the old
// expiry, which two racing requests cannot both win.
type DynamoReplayGuard struct {
	DB    ReplayTableAPI
	Table string
	// Prefix namespaces the keys in a table shared with other idempotency
	// records (default "msgid#").
	Prefix string
	// Timeout bounds each call (default 2 s).
	Timeout time.Duration
	// Now is the clock (nil: the system clock).
	Now func() time.Time
}

var _ ReplayGuard = (*DynamoReplayGuard)(nil)

// Seen implements ReplayGuard.
func (g *DynamoReplayGuard) Seen(ctx context.Context, id string, expiry time.Time) (bool, error) {
	now := clock.Or(g.Now)()
	prefix := g.Prefix
	if prefix == "" {
		prefix = "msgid#"
	}
	key := &types.AttributeValueMemberS{Value: prefix + id}
	exp := &types.AttributeValueMemberN{Value: strconv.FormatInt(expiry.Unix(), 10)}
	for try := 0; try < 3; try++ {
		err := g.put(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(g.Table), Item: map[string]types.AttributeValue{"key": key, "expires_at": exp},
			ConditionExpression: aws.String("attribute_not_exists(#k)"), ExpressionAttributeNames: map[string]string{"#k": "key"},
		})
		if err == nil {
			return false, nil
		}
		if !conditionFailed(err) {
			return false, fmt.Errorf("replay guard: %w", err)
		}
		// Present: still live, or expired but not yet removed?
		c, cancel := context.WithTimeout(ctx, g.timeout())
		out, err := g.DB.GetItem(c, &dynamodb.GetItemInput{TableName: aws.String(g.Table),
			Key: map[string]types.AttributeValue{"key": key}, ConsistentRead: aws.Bool(true)})
		cancel()
		if err != nil {
			return false, fmt.Errorf("replay guard: %w", err)
		}
		old, ok := out.Item["expires_at"].(*types.AttributeValueMemberN)
		if !ok {
			continue // removed meanwhile (or malformed): try the insert again
		}
		if sec, err := strconv.ParseInt(old.Value, 10, 64); err != nil || now.Before(time.Unix(sec, 0)) {
			return true, nil
		}
		err = g.put(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(g.Table), Item: map[string]types.AttributeValue{"key": key, "expires_at": exp},
			ConditionExpression:       aws.String("#e = :old"),
			ExpressionAttributeNames:  map[string]string{"#e": "expires_at"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":old": old},
		})
		if err == nil {
			return false, nil
		}
		if conditionFailed(err) {
			return true, nil // a concurrent request renewed it first
		}
		return false, fmt.Errorf("replay guard: %w", err)
	}
	return false, errors.New("replay guard: the item kept changing")
}

func (g *DynamoReplayGuard) timeout() time.Duration {
	if g.Timeout > 0 {
		return g.Timeout
	}
	return 2 * time.Second
}

func (g *DynamoReplayGuard) put(ctx context.Context, in *dynamodb.PutItemInput) error {
	c, cancel := context.WithTimeout(ctx, g.timeout())
	defer cancel()
	_, err := g.DB.PutItem(c, in)
	return err
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
