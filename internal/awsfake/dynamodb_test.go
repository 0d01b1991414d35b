package awsfake_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/luxncp/luxncp/internal/awsfake"
)

func newDynamo(t *testing.T) (*awsfake.DynamoDB, *dynamodb.Client) {
	t.Helper()
	f := awsfake.NewDynamoDB()
	t.Cleanup(f.Close)
	f.CreateTable("idempotency", "key", "")
	f.CreateTable("outbox", "pk", "seq")
	return f, dynamodb.NewFromConfig(f.AWSConfig())
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }

func TestDynamoConditionalPut(t *testing.T) {
	_, c := newDynamo(t)
	ctx := context.Background()
	put := func(status string) error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String("idempotency"),
			Item:                     map[string]types.AttributeValue{"key": s("msg-1"), "status": s(status), "expires": n(1700000000)},
			ConditionExpression:      aws.String("attribute_not_exists(#k)"),
			ExpressionAttributeNames: map[string]string{"#k": "key"},
		})
		return err
	}
	if err := put("pending"); err != nil {
		t.Fatal(err)
	}
	var ccf *types.ConditionalCheckFailedException
	if err := put("again"); !errors.As(err, &ccf) {
		t.Fatalf("second put: err = %v, want ConditionalCheckFailedException", err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("idempotency"), Key: map[string]types.AttributeValue{"key": s("msg-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Item["status"].(*types.AttributeValueMemberS).Value; v != "pending" {
		t.Errorf("status = %q, want the first write kept", v)
	}
	miss, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("idempotency"), Key: map[string]types.AttributeValue{"key": s("nope")}})
	if err != nil || miss.Item != nil {
		t.Errorf("GetItem(missing) = %v, %v; want no item", miss.Item, err)
	}
}

func TestDynamoUpdateAndDelete(t *testing.T) {
	_, c := newDynamo(t)
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": s("FR"), "seq": n(1)}
	update := func(expr, cond string, vals map[string]types.AttributeValue) (*dynamodb.UpdateItemOutput, error) {
		in := &dynamodb.UpdateItemInput{
			TableName: aws.String("outbox"), Key: key, UpdateExpression: aws.String(expr),
			ExpressionAttributeNames:  map[string]string{"#s": "status"},
			ExpressionAttributeValues: vals, ReturnValues: types.ReturnValueAllNew,
		}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		return c.UpdateItem(ctx, in)
	}
	if _, err := update("SET #s = :p, attempts = if_not_exists(attempts, :zero)", "attribute_not_exists(pk)", map[string]types.AttributeValue{":p": s("pending"), ":zero": n(0)}); err != nil {
		t.Fatal(err)
	}
	out, err := update("SET #s = :d ADD attempts :one", "#s = :p", map[string]types.AttributeValue{":p": s("pending"), ":d": s("sent"), ":one": n(1)})
	if err != nil {
		t.Fatal(err)
	}
	if a := out.Attributes["attempts"].(*types.AttributeValueMemberN).Value; a != "1" {
		t.Errorf("attempts = %s, want 1", a)
	}
	var ccf *types.ConditionalCheckFailedException
	if _, err := update("SET #s = :d", "#s = :p", map[string]types.AttributeValue{":p": s("pending"), ":d": s("sent")}); !errors.As(err, &ccf) {
		t.Fatalf("update of a sent item: err = %v, want ConditionalCheckFailedException", err)
	}
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String("outbox"), Key: key,
		ConditionExpression: aws.String("attempts >= :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("outbox"), Key: key})
	if got.Item != nil {
		t.Errorf("item survived DeleteItem: %v", got.Item)
	}
}

func TestDynamoQuery(t *testing.T) {
	_, c := newDynamo(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("outbox"), Item: map[string]types.AttributeValue{"pk": s("FR"), "seq": n(i), "odd": &types.AttributeValueMemberBOOL{Value: i%2 == 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("outbox"), Item: map[string]types.AttributeValue{"pk": s("BE"), "seq": n(1)}})
	var seqs []string
	var start map[string]types.AttributeValue
	for pages := 0; pages < 10; pages++ {
		out, err := c.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String("outbox"), KeyConditionExpression: aws.String("pk = :p AND seq >= :from"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("FR"), ":from": n(2)},
			Limit:                     aws.Int32(2), ExclusiveStartKey: start, ScanIndexForward: aws.Bool(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			seqs = append(seqs, it["seq"].(*types.AttributeValueMemberN).Value)
		}
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	if got := len(seqs); got != 4 || seqs[0] != "5" || seqs[3] != "2" {
		t.Errorf("paged descending query = %v, want [5 4 3 2]", seqs)
	}
	_, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String("outbox"), KeyConditionExpression: aws.String("pk = :p OR pk = :q"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("FR"), ":q": s("BE")},
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Errorf("OR: err = %v, want ValidationException (outside the fake's subset)", err)
	}
}

func TestDynamoThrottling(t *testing.T) {
	f, c := newDynamo(t)
	f.FailNext("PutItem", 1, awsfake.Failure{Code: awsfake.ProvisionedThroughput})
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("idempotency"), Item: map[string]types.AttributeValue{"key": s("k")}}); err != nil {
		t.Fatalf("a single throttle should be retried: %v", err)
	}
	f.FailAlways("PutItem", awsfake.Failure{Code: awsfake.Throttling})
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("idempotency"), Item: map[string]types.AttributeValue{"key": s("k2")}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != awsfake.Throttling {
		t.Fatalf("err = %v, want ThrottlingException", err)
	}
	if got := f.Calls("PutItem"); got != 2+3 {
		t.Errorf("Calls(PutItem) = %d, want 5 (2 + 3 bounded attempts)", got)
	}
	f.Heal()
	if _, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: map[string]types.AttributeValue{"key": s("k")}}); err == nil {
		t.Error("GetItem on a missing table succeeded")
	}
}
