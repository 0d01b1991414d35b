package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/outbox"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// flaky fails RecordDispense while down is set.
type flaky struct {
	national.Dispensations
	down bool
}

func (f *flaky) RecordDispense(ctx context.Context, d national.Dispense) error {
	if f.down {
		return national.ErrUnavailable
	}
	return f.Dispensations.RecordDispense(ctx, d)
}

func TestHandleReportsPartialBatchFailures(t *testing.T) {
	b, err := demo.New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	defer srv.Close()
	nat, err := national.NewClient(srv.URL+"/fhir", national.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ddb := awsemu.NewFaults(t, awsemu.DynamoDB(t))
	db := dynamodb.NewFromConfig(awsemu.RetryingConfig(ddb.URL))
	if _, err := db.CreateTable(context.Background(), outbox.TableInput("outbox")); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(awsemu.RetryingConfig(awsemu.SQS(t)))
	cq, err := q.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("outbox"), Attributes: map[string]string{"VisibilityTimeout": "60"}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := outbox.NewDynamo(db, q, outbox.DynamoOptions{Table: "outbox", QueueURL: aws.ToString(cq.QueueUrl), Log: quiet, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	accept := func(key, rx, matricule string) {
		if _, _, err := store.Accept(ctx, outbox.Message{Key: key, Kind: outbox.KindDispense, PrescriptionID: rx, Matricule: matricule, Accepted: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	accept("2.25.1^ed-1", "rx-0003", "1971011007114")
	accept("2.25.2^ed-2", "rx-0010", "1987031419966") // a cancelled prescription: refused for good
	accept("2.25.3^ed-3", "rx-0004", "1971011007114")
	fl := &flaky{Dispensations: nat}
	h := &handler{d: &outbox.Dispatcher{Queue: store, National: fl, Log: quiet}, log: quiet}
	event := func(keys ...string) events.SQSEvent {
		var ev events.SQSEvent
		for i, k := range keys {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + string(rune('0'+i)), Body: k, EventSource: "aws:sqs"})
		}
		return ev
	}
	failed := func(r events.SQSEventResponse) []string {
		var ids []string
		for _, f := range r.BatchItemFailures {
			ids = append(ids, f.ItemIdentifier)
		}
		return ids
	}
	cases := []struct {
		name   string
		setup  func()
		keys   []string
		failed []string
		states map[string]outbox.State
	}{
		{"delivered, dead, unknown and empty are done", nil,
			[]string{"2.25.1^ed-1", "2.25.2^ed-2", "no-such-key", ""}, nil,
			map[string]outbox.State{"2.25.1^ed-1": outbox.StateDelivered, "2.25.2^ed-2": outbox.StateDead}},
		{"national system down: that record is retried", func() { fl.down = true },
			[]string{"2.25.1^ed-1", "2.25.3^ed-3"}, []string{"m1"},
			map[string]outbox.State{"2.25.3^ed-3": outbox.StatePending}},
		{"outbox table down: every record is retried", func() {
			fl.down = false
			ddb.FailAlways("GetItem", awsemu.Failure{Code: awsemu.ServiceUnavailable, Status: 503})
		},
			[]string{"2.25.1^ed-1", "2.25.3^ed-3"}, []string{"m0", "m1"}, nil},
		{"recovered", func() { ddb.Heal() },
			[]string{"2.25.3^ed-3", "2.25.3^ed-3"}, nil,
			map[string]outbox.State{"2.25.3^ed-3": outbox.StateDelivered}},
	}
	for _, tc := range cases {
		if tc.setup != nil {
			tc.setup()
		}
		resp, err := h.handle(ctx, event(tc.keys...))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := failed(resp); !slices.Equal(got, tc.failed) {
			t.Fatalf("%s: failures %v, want %v", tc.name, got, tc.failed)
		}
		for k, want := range tc.states {
			if m, err := store.Get(ctx, k); err != nil || m.State != want {
				t.Fatalf("%s: %s is %s (%v), want %s", tc.name, k, m.State, err, want)
			}
		}
	}
	// Out of time: nothing is attempted, everything is handed back.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	resp, _ := h.handle(cctx, event("2.25.1^ed-1"))
	if got := failed(resp); !slices.Equal(got, []string{"m0"}) {
		t.Fatalf("cancelled: failures %v", got)
	}
}
