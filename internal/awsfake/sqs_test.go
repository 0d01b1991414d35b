package awsfake_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/luxncp/luxncp/internal/awsfake"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSQS(t *testing.T) (*awsfake.SQS, *sqs.Client, *fakeClock, string) {
	t.Helper()
	f := awsfake.NewSQS()
	t.Cleanup(f.Close)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.SetClock(clk.Now)
	url := f.CreateQueue("edispensation", 30*time.Second)
	f.CreateQueue("edispensation-dlq", 0)
	f.SetRedrive("edispensation", "edispensation-dlq", 2)
	return f, sqs.NewFromConfig(f.AWSConfig()), clk, url
}

func receive(t *testing.T, c *sqs.Client, url string) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func TestSQSSendReceiveDelete(t *testing.T) {
	_, c, clk, url := newSQS(t)
	ctx := context.Background()
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String(`{"id":"eD-1"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"country": {DataType: aws.String("String"), StringValue: aws.String("FR")},
			"blob":    {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2}},
		},
	})
	if err != nil {
		t.Fatal(err) // the SDK checks MD5OfMessageBody and MD5OfMessageAttributes
	}
	msgs := receive(t, c, url)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != `{"id":"eD-1"}` || aws.ToString(msgs[0].MessageAttributes["country"].StringValue) != "FR" {
		t.Fatalf("received %+v", msgs)
	}
	if again := receive(t, c, url); len(again) != 0 {
		t.Fatalf("in-flight message delivered twice: %+v", again)
	}
	clk.Add(31 * time.Second)
	redelivered := receive(t, c, url)
	if len(redelivered) != 1 || redelivered[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the visibility timeout: %+v", redelivered)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: redelivered[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if left := receive(t, c, url); len(left) != 0 {
		t.Fatalf("deleted message came back: %+v", left)
	}
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("bogus")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ReceiptHandleIsInvalid" {
		t.Errorf("bogus receipt: err = %v", err)
	}
}

func TestSQSChangeVisibilityAndRedrive(t *testing.T) {
	f, c, clk, url := newSQS(t)
	ctx := context.Background()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	m := receive(t, c, url)[0]
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c, url); len(got) != 1 {
		t.Fatalf("visibility 0 should release the message at once, got %d", len(got))
	}
	clk.Add(31 * time.Second) // received twice = maxReceiveCount: next view moves it
	if got := receive(t, c, url); len(got) != 0 {
		t.Fatalf("message beyond maxReceiveCount delivered: %+v", got)
	}
	if dlq := f.Bodies("edispensation-dlq"); len(dlq) != 1 || dlq[0] != "poison" {
		t.Errorf("dead-letter queue = %v, want [poison]", dlq)
	}
	if src := f.Bodies("edispensation"); len(src) != 0 {
		t.Errorf("source queue still holds %v", src)
	}
}

func TestSQSLongPollWakesOnSend(t *testing.T) {
	_, c, _, url := newSQS(t)
	ctx := context.Background()
	done := make(chan []types.Message)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5})
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		done <- out.Messages
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("late")}); err != nil {
		t.Fatal(err)
	}
	if got := <-done; len(got) != 1 || aws.ToString(got[0].Body) != "late" {
		t.Fatalf("long poll returned %+v", got)
	}
}

func TestSQSFailures(t *testing.T) {
	f, c, _, url := newSQS(t)
	ctx := context.Background()
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url + "-missing"), MessageBody: aws.String("x")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "QueueDoesNotExist" {
		t.Errorf("missing queue: err = %v", err)
	}
	f.FailAlways("SendMessage", awsfake.Failure{Code: awsfake.Throttling})
	before := f.Calls("SendMessage")
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")}); err == nil {
		t.Fatal("throttled send succeeded")
	}
	if got := f.Calls("SendMessage") - before; got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
	f.Heal()
	f.FailNext("ReceiveMessage", 1, awsfake.Failure{Delay: time.Second})
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.ReceiveMessage(tctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: err = %v", err)
	}
}
