package countryb

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestDynamoSubmissions: what one api instance sent, another finds.
func TestDynamoSubmissions(t *testing.T) {
	f := awsemu.NewFaults(t, awsemu.DynamoDB(t))
	db := dynamodb.NewFromConfig(awsemu.RetryingConfig(f.URL))
	awsemu.CreateTable(t, db, "luxncp-idempotency", "key")
	a := &DynamoSubmissions{DB: db, Table: "luxncp-idempotency"}
	b := &DynamoSubmissions{DB: dynamodb.NewFromConfig(awsemu.RetryingConfig(f.URL)), Table: "luxncp-idempotency"}
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
	f.FailNext("GetItem", 5, awsemu.Failure{Code: awsemu.Throttling, Status: 400})
	if _, _, err := b.Get(ctx, "1.2.3^ed-9"); err == nil {
		t.Error("a throttled table read reported no error")
	}
}
