package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/awsfake"
)

// An idempotent enqueue: a conditional put, then a message.
func Example() {
	ddb := awsfake.NewDynamoDB()
	defer ddb.Close()
	ddb.CreateTable("outbox", "id", "")
	q := awsfake.NewSQS()
	defer q.Close()
	url := q.CreateQueue("outbox", 30*time.Second)

	db := dynamodb.NewFromConfig(ddb.AWSConfig())
	mq := sqs.NewFromConfig(q.AWSConfig())
	ctx := context.Background()
	for range 2 {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String("outbox"),
			Item:                map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "eD-1"}},
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		})
		var dup *types.ConditionalCheckFailedException
		if errors.As(err, &dup) {
			fmt.Println("duplicate ignored")
			continue
		}
		if err != nil {
			panic(err)
		}
		if _, err := mq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("eD-1")}); err != nil {
			panic(err)
		}
	}
	fmt.Println(q.Bodies("outbox"))
	// Output:
	// duplicate ignored
	// [eD-1]
}
