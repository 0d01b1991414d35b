package countryb

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/luxncp/luxncp/internal/awsfake"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestDynamoSubmissions: what one api instance sent, another finds.
func TestDynamoSubmissions(t *testing.T) {
	f := awsfake.NewDynamoDB()
	defer f.Close()
	f.CreateTable("luxncp-idempotency", "key", "")
	a := &DynamoSubmissions{DB: dynamodb.NewFromConfig(f.AWSConfig()), Table: "luxncp-idempotency"}
	b := &DynamoSubmissions{DB: dynamodb.NewFromConfig(f.AWSConfig()), Table: "luxncp-idempotency"}
	ctx := context.Background()
	want := Submitted{Country: "PT", Patient: wssec.PatientID{Extension: "123456789", Root: "2.16.620.1.101.10.1"}, Data: []byte("<ClinicalDocument/>")}
	if err := a.Put(ctx, "1.2.3^ed-9", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.Get(ctx, "1.2.3^ed-9")
	if err != nil || !ok || got.Country != "PT" || got.Patient != want.Patient || string(got.Data) != string(want.Data) {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if _, ok, err := b.Get(ctx, "unknown"); ok || err != nil {
		t.Fatalf("unknown: %v %v", ok, err)
	}
	f.FailNext("GetItem", 5, awsfake.Failure{Code: awsfake.Throttling, Status: 400})
	if _, _, err := b.Get(ctx, "1.2.3^ed-9"); err == nil {
		t.Error("a throttled table read reported no error")
	}
}
