package countryb

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/luxncp/luxncp/internal/wssec"
)

// SubmissionsTableAPI is the part of the DynamoDB client DynamoSubmissions
// uses (*dynamodb.Client satisfies it).
type SubmissionsTableAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// DynamoSubmissions keeps sent eDispensations in the idempotency table
// (hash key "key", TTL "expires_at"), shared by every Lambda instance of
// the api function, so a discard works whichever instance serves it.
type DynamoSubmissions struct {
	DB    SubmissionsTableAPI
	Table string
	// Retention before DynamoDB's TTL removes a record (default 90 days:
	// a dispensation is discarded within days, if ever).
	Retention time.Duration
	// Timeout bounds each call (default 2 s).
	Timeout time.Duration
	Now     func() time.Time
}

var _ Submissions = (*DynamoSubmissions)(nil)

const submissionPrefix = "sent-ed#"

func (d *DynamoSubmissions) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	t := d.Timeout
	if t <= 0 {
		t = 2 * time.Second
	}
	return context.WithTimeout(ctx, t)
}

// Put implements Submissions.
func (d *DynamoSubmissions) Put(ctx context.Context, id string, s Submitted) error {
	now := clock.Or(d.Now)()
	ret := d.Retention
	if ret <= 0 {
		ret = 90 * 24 * time.Hour
	}
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	_, err := d.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: map[string]types.AttributeValue{
		"key":          &types.AttributeValueMemberS{Value: submissionPrefix + id},
		"country":      &types.AttributeValueMemberS{Value: s.Country},
		"patient_ext":  &types.AttributeValueMemberS{Value: s.Patient.Extension},
		"patient_root": &types.AttributeValueMemberS{Value: s.Patient.Root},
		"data":         &types.AttributeValueMemberB{Value: s.Data},
		"expires_at":   &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(ret).Unix(), 10)},
	}})
	if err != nil {
		return fmt.Errorf("sent eDispensations: %w", err)
	}
	return nil
}

// Get implements Submissions.
func (d *DynamoSubmissions) Get(ctx context.Context, id string) (Submitted, bool, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	out, err := d.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: submissionPrefix + id}}})
	if err != nil {
		return Submitted{}, false, fmt.Errorf("sent eDispensations: %w", err)
	}
	if len(out.Item) == 0 {
		return Submitted{}, false, nil
	}
	str := func(k string) string {
		if v, ok := out.Item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	s := Submitted{Country: str("country"), Patient: wssec.PatientID{Extension: str("patient_ext"), Root: str("patient_root")}}
	if b, ok := out.Item["data"].(*types.AttributeValueMemberB); ok {
		s.Data = b.Value
	}
	return s, true, nil
}
