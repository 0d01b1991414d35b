package awsemu_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/awsemu"
)

// TestEmulators checks that each emulator answers the SDK as AWS would,
// including the limits luxncp's own fakes never enforced.
func TestEmulators(t *testing.T) {
	e := awsemu.Start(t)
	ctx := context.Background()
	cfg := e.Config()

	t.Run("dynamodb enforces the 400 KB item limit", func(t *testing.T) {
		db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) })
		if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName: aws.String("items"), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		}); err != nil {
			t.Fatal(err)
		}
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("items"), Item: map[string]ddbtypes.AttributeValue{
			"id": &ddbtypes.AttributeValueMemberS{Value: "big"}, "v": &ddbtypes.AttributeValueMemberS{Value: strings.Repeat("x", 401<<10)}}})
		if err == nil || !strings.Contains(err.Error(), "size") {
			t.Fatalf("a 401 KB item: err = %v", err)
		}
	})
	t.Run("sqs send, receive, delete", func(t *testing.T) {
		q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.SQS) })
		cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("outbox")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("k1")}); err != nil {
			t.Fatal(err)
		}
		got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil || len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "k1" {
			t.Fatalf("receive: %+v %v", got, err)
		}
		if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: cq.QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		again, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil || len(again.Messages) != 0 {
			t.Fatalf("after delete: %+v %v", again, err)
		}
	})
	t.Run("kms signs with a key that never leaves it", func(t *testing.T) {
		k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(e.KMS) })
		key, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte("x"))
		out, err := k.Sign(ctx, &kms.SignInput{KeyId: key.KeyMetadata.KeyId, Message: d[:], MessageType: kmstypes.MessageTypeDigest,
			SigningAlgorithm: kmstypes.SigningAlgorithmSpecRsassaPssSha256})
		if err != nil || len(out.Signature) != 256 {
			t.Fatalf("sign: %v", err)
		}
		_ = crypto.SHA256
	})
}
