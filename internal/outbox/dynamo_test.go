package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/outbox"
)

// emulators are one test's DynamoDB (dynalite) and SQS (goaws), reached
// through the real aws-sdk-go-v2 clients with the standard retryer, each
// behind awsemu's fault-injecting proxy.
type emulators struct {
	db       *dynamodb.Client
	mq       *sqs.Client
	dbFaults *awsemu.Faults
	mqFaults *awsemu.Faults
	tables   atomic.Int32
}

func startEmulators(t testing.TB) *emulators {
	t.Helper()
	var ddbURL, sqsURL string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ddbURL = awsemu.DynamoDB(t) }()
	go func() { defer wg.Done(); sqsURL = awsemu.SQS(t) }()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	u := &emulators{dbFaults: awsemu.NewFaults(t, ddbURL), mqFaults: awsemu.NewFaults(t, sqsURL)}
	cfg := (&awsemu.Emulators{}).Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 20 * time.Millisecond })
	}
	u.db = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(u.dbFaults.URL) })
	u.mq = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(u.mqFaults.URL) })
	return u
}

// dynamoEnv is a DynamoDB + SQS outbox on a fresh table (as terraform/
// declares it: outbox.TableInput) and queue of the emulators.
type dynamoEnv struct {
	*emulators
	table, url string
	mu         sync.Mutex
	clock      time.Time
	seen       []string // queue bodies received so far
}

func newDynamoEnv(t testing.TB) *dynamoEnv {
	t.Helper()
	return startEmulators(t).env(t)
}

// env creates a fresh table and queue on the emulators.
func (u *emulators) env(t testing.TB) *dynamoEnv {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("luxncp-outbox-%d", u.tables.Add(1))
	if _, err := u.db.CreateTable(ctx, outbox.TableInput(name)); err != nil {
		t.Fatal(err)
	}
	q, err := u.mq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return &dynamoEnv{emulators: u, table: name, url: aws.ToString(q.QueueUrl), clock: clock.Now().UTC().Truncate(time.Second)}
}

func (e *dynamoEnv) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

// msg stamps a message with the env's clock, as the XDR service stamps
// acceptances with the gateway's clock.
func (e *dynamoEnv) msg(key, rx, matricule string) outbox.Message {
	m := msg(key, rx, matricule)
	m.Accepted = e.now()
	return m
}

func (e *dynamoEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

func (e *dynamoEnv) options(mod ...func(*outbox.DynamoOptions)) outbox.DynamoOptions {
	opt := outbox.DynamoOptions{Table: e.table, QueueURL: e.url, Now: e.now, Log: quiet, Timeout: 5 * time.Second}
	for _, f := range mod {
		f(&opt)
	}
	return opt
}

// store opens a store on the env's table and queue: a new one per
// "process".
func (e *dynamoEnv) store(t testing.TB, mod ...func(*outbox.DynamoOptions)) *outbox.DynamoStore {
	t.Helper()
	s, err := outbox.NewDynamo(e.db, e.mq, e.options(mod...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// item is the raw item of a key (nil when absent).
func (e *dynamoEnv) item(t testing.TB, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// stateKey is the StateIndex key of a key's item ("" when none).
func (e *dynamoEnv) stateKey(t testing.TB, key string) string {
	t.Helper()
	v, _ := e.item(t, key)["state_key"].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

// items returns every item of the table (messages and reservations).
func (e *dynamoEnv) items(t testing.TB) []map[string]types.AttributeValue {
	t.Helper()
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: aws.String(e.table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// messages counts the message items (not the reservation items).
func (e *dynamoEnv) messages(t testing.TB) int {
	t.Helper()
	n := 0
	for _, it := range e.items(t) {
		if id, _ := it["id"].(*types.AttributeValueMemberS); id != nil && !strings.HasPrefix(id.Value, "#outbox-index#") {
			n++
		}
	}
	return n
}

// bodies returns the bodies of every message sent to the env's queue so
// far (received from goaws, hidden from other receivers for an hour).
func (e *dynamoEnv) bodies(t testing.TB) []string {
	t.Helper()
	for {
		out, err := e.mq.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url),
			MaxNumberOfMessages: 10, VisibilityTimeout: 3600, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return e.seen
		}
		for _, m := range out.Messages {
			e.seen = append(e.seen, aws.ToString(m.Body))
		}
	}
}

func TestDynamoNewValidates(t *testing.T) {
	e := newDynamoEnv(t)
	cases := []outbox.DynamoOptions{{}, {Table: "t"}, {QueueURL: "u"}}
	for _, opt := range cases {
		if _, err := outbox.NewDynamo(e.db, e.mq, opt); err == nil {
			t.Errorf("NewDynamo(%+v) accepted", opt)
		}
	}
	if _, err := outbox.NewDynamo(nil, e.mq, outbox.DynamoOptions{Table: "t", QueueURL: "u"}); err == nil {
		t.Error("nil DynamoDB client accepted")
	}
}

func TestDynamoAcceptIsIdempotent(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	m := e.msg("2.25.1^ed-1", "rx-0003", "1971011007114")
	m.Resource = []byte(`{"resourceType":"MedicationDispense"}`)
	got, ins, err := s.Accept(ctx, m)
	if err != nil || !ins || got.State != outbox.StatePending || got.NextAttempt.IsZero() {
		t.Fatalf("accept = %+v, %v, %v", got, ins, err)
	}
	again, ins, err := s.Accept(ctx, e.msg("2.25.1^ed-1", "rx-9999", "other"))
	if err != nil || ins || again.PrescriptionID != "rx-0003" || string(again.Resource) != string(m.Resource) {
		t.Fatalf("duplicate accept = %+v, %v, %v", again, ins, err)
	}
	if b := e.bodies(t); len(b) != 1 || b[0] != m.Key {
		t.Fatalf("queue = %q, want one message with the key", b)
	}
	if n, sk := e.messages(t), e.stateKey(t, m.Key); n != 1 || !strings.HasPrefix(sk, "pending#") {
		t.Fatalf("items %d, state_key %q; want 1 item in a pending partition", n, sk)
	}
	if p, err := s.List(ctx, outbox.StatePending); err != nil || len(p) != 1 || p[0].Key != m.Key {
		t.Fatalf("pending = %+v, %v", p, err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
	for _, bad := range []string{"", "#outbox-index#reservation#rx-0003"} {
		if _, _, err := s.Accept(ctx, e.msg(bad, "rx", "m")); err == nil {
			t.Errorf("Accept(%q) accepted", bad)
		}
	}
}

func TestDynamoConcurrentDuplicateAccept(t *testing.T) {
	e := newDynamoEnv(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	inserted := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := e.store(t) // separate "Lambda instances"
			_, ins, err := s.Accept(ctx, e.msg("2.25.3^ed-3", "rx-0007", "1985093013982"))
			if err != nil {
				t.Error(err)
			}
			inserted <- ins
		}()
	}
	wg.Wait()
	close(inserted)
	n := 0
	for ins := range inserted {
		if ins {
			n++
		}
	}
	if items, b := e.messages(t), e.bodies(t); n != 1 || items != 1 || len(b) != 1 {
		t.Fatalf("%d inserts, %d items, queue %q; want 1, 1, 1", n, items, b)
	}
}

// racingDB lets another Accept of the same key land between our read and
// our conditional put, so the put's condition fails.
type racingDB struct {
	outbox.DynamoAPI
	once  sync.Once
	other func()
}

func (r *racingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, isMsg := in.Item["body"]; isMsg {
		r.once.Do(r.other)
	}
	return r.DynamoAPI.PutItem(ctx, in, opt...)
}

func TestDynamoConditionalCheckFailureMeansDuplicate(t *testing.T) {
	e := newDynamoEnv(t)
	ctx := context.Background()
	winner := e.store(t)
	db := &racingDB{DynamoAPI: e.db, other: func() {
		if _, ins, err := winner.Accept(ctx, e.msg("2.25.6^ed-6", "rx-0003", "first")); err != nil || !ins {
			t.Errorf("winner accept = %v, %v", ins, err)
		}
	}}
	loser, err := outbox.NewDynamo(db, e.mq, e.options())
	if err != nil {
		t.Fatal(err)
	}
	got, ins, err := loser.Accept(ctx, e.msg("2.25.6^ed-6", "rx-0003", "second"))
	if err != nil || ins || got.Matricule != "first" {
		t.Fatalf("losing accept = %+v, %v, %v; want the winner's message, not inserted", got, ins, err)
	}
	if b := e.bodies(t); len(b) != 1 {
		t.Fatalf("queue = %q, want one message", b)
	}
}

func TestDynamoThrottling(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	// Two throttles: the SDK's retryer absorbs them.
	e.dbFaults.FailNext("PutItem", 2, awsemu.Failure{Code: awsemu.Throttling})
	if _, ins, err := s.Accept(ctx, e.msg("2.25.7^ed-7", "rx-0003", "m")); err != nil || !ins {
		t.Fatalf("accept under brief throttling = %v, %v", ins, err)
	}
	// Throttled for good: the accept fails and nothing is stored or queued.
	e.dbFaults.FailAlways("PutItem", awsemu.Failure{Code: awsemu.ProvisionedThroughput})
	_, _, err := s.Accept(ctx, e.msg("2.25.8^ed-8", "rx-0003", "m"))
	if err == nil || !strings.Contains(err.Error(), "ProvisionedThroughputExceeded") {
		t.Fatalf("accept under sustained throttling: %v", err)
	}
	e.dbFaults.Heal()
	e.mqFaults.Heal()
	if n, b := e.messages(t), e.bodies(t); n != 1 || len(b) != 1 {
		t.Fatalf("%d items, queue %q after a refused accept", n, b)
	}
}

func TestDynamoTimeout(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t, func(o *outbox.DynamoOptions) { o.Timeout = 50 * time.Millisecond })
	e.dbFaults.FailAlways("GetItem", awsemu.Failure{Delay: 2 * time.Second})
	_, _, err := s.Accept(context.Background(), e.msg("2.25.9^ed-9", "rx-0003", "m"))
	e.dbFaults.Heal()
	e.mqFaults.Heal()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("accept against a hung DynamoDB: %v, want a deadline error", err)
	}
	if e.messages(t) != 0 {
		t.Fatal("a timed-out accept stored a message")
	}
}

// TestDynamoSendFailureIsSwept: the SQS send fails after the durable put;
// the accept still succeeds and the sweeper queues the message later.
func TestDynamoSendFailureIsSwept(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	e.mqFaults.FailAlways("SendMessage", awsemu.Failure{Code: awsemu.ServiceUnavailable, Status: 503})
	if _, ins, err := s.Accept(ctx, e.msg("2.25.10^ed-10", "rx-0003", "m")); err != nil || !ins {
		t.Fatalf("accept with SQS down = %v, %v", ins, err)
	}
	e.dbFaults.Heal()
	e.mqFaults.Heal()
	if b := e.bodies(t); len(b) != 0 {
		t.Fatalf("queue = %q", b)
	}
	if n, err := s.Requeue(ctx); err != nil || n != 0 {
		t.Fatalf("requeue within the grace period = %d, %v; want 0", n, err)
	}
	e.advance(2 * time.Minute)
	if n, err := s.Requeue(ctx); err != nil || n != 1 {
		t.Fatalf("requeue = %d, %v; want 1", n, err)
	}
	if n, err := s.Requeue(ctx); err != nil || n != 0 {
		t.Fatalf("second requeue = %d, %v; want 0", n, err)
	}
	if b := e.bodies(t); len(b) != 1 || b[0] != "2.25.10^ed-10" {
		t.Fatalf("queue = %q", b)
	}
	// Queued, but its next attempt is overdue (the queue message is
	// gone): the sweep sends it again.
	e.advance(20 * time.Minute)
	if n, err := s.Requeue(ctx); err != nil || n != 1 {
		t.Fatalf("requeue of an overdue message = %d, %v; want 1", n, err)
	}
}

// TestDynamoFailedPutLeavesNothing: the message put fails (the process
// dies): no index entry, no item, nothing queued; the resend is accepted.
// (The index key lives on the message item, so there is no second write to
// leave behind.)
func TestDynamoFailedPutLeavesNothing(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	s2, _ := outbox.NewDynamo(&failPut{DynamoAPI: e.db}, e.mq, e.options())
	m := e.msg("2.25.11^ed-11", "rx-0003", "m")
	if _, _, err := s2.Accept(ctx, m); err == nil {
		t.Fatal("accept succeeded although the message put failed")
	}
	if p, err := s.List(ctx, ""); err != nil || len(p) != 0 {
		t.Fatalf("listed after a failed put: %+v, %v", p, err)
	}
	if due, err := s.Due(ctx, e.now(), 0); err != nil || len(due) != 0 {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if n, b := e.messages(t), e.bodies(t); n != 0 || len(b) != 0 {
		t.Fatalf("%d items, queue %q", n, b)
	}
	if _, ins, err := s.Accept(ctx, m); err != nil || !ins {
		t.Fatalf("resend = %v, %v", ins, err)
	}
}

type failPut struct{ outbox.DynamoAPI }

func (f *failPut) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errors.New("injected: the process died")
}

// The outbox package's crash and duplicate scenarios, on DynamoDB + SQS.

func TestDynamoCrashBetweenAcceptAndForward(t *testing.T) {
	nat, base := backend(t)
	e := newDynamoEnv(t)
	ctx := context.Background()
	if _, ins, err := e.store(t).Accept(ctx, e.msg("2.25.1^ed-1", "rx-0003", "1971011007114")); err != nil || !ins {
		t.Fatalf("accept = %v, %v", ins, err)
	}
	d := &outbox.Dispatcher{Queue: e.store(t), National: nat, Log: quiet, Now: e.now}
	res, err := d.RunOnce(ctx)
	if err != nil || res.Delivered != 1 {
		t.Fatalf("RunOnce = %+v, %v", res, err)
	}
	if res, _ := d.RunOnce(ctx); res.Delivered != 0 {
		t.Errorf("second pass delivered %d", res.Delivered)
	}
	if n := effects(t, base, "rx-0003"); n != 1 {
		t.Fatalf("effects = %d, want 1", n)
	}
	if sk := e.stateKey(t, "2.25.1^ed-1"); sk != "" {
		t.Errorf("delivered message still indexed: state_key %q", sk)
	}
	if st, err := d.Deliver(ctx, "2.25.1^ed-1"); err != nil || st != outbox.StateDelivered {
		t.Errorf("Deliver of a delivered message = %s, %v", st, err)
	}
	if n := effects(t, base, "rx-0003"); n != 1 {
		t.Fatalf("effects after a redelivered queue message = %d, want 1", n)
	}
}

func TestDynamoCrashAfterNationalApply(t *testing.T) {
	nat, base := backend(t)
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	s.Accept(ctx, e.msg("2.25.2^ed-2", "rx-0004", "1971011007114"))
	d := &outbox.Dispatcher{Queue: s, National: &crashAfterApply{Dispensations: nat, crashes: 1}, Log: quiet, Now: e.now}
	if st, err := d.Deliver(ctx, "2.25.2^ed-2"); err != nil || st != outbox.StatePending {
		t.Fatalf("first delivery = %s, %v", st, err)
	}
	if n, _ := s.Outstanding(ctx, "rx-0004"); n != 1 {
		t.Errorf("outstanding while retrying = %d", n)
	}
	if st, err := d.Deliver(ctx, "2.25.2^ed-2"); err != nil || st != outbox.StateDelivered {
		t.Fatalf("redelivery = %s, %v", st, err)
	}
	if n := effects(t, base, "rx-0004"); n != 1 {
		t.Fatalf("effects = %d, want 1", n)
	}
	if m, _ := s.Get(ctx, "2.25.2^ed-2"); m.Attempts != 2 {
		t.Errorf("attempts = %d", m.Attempts)
	}
	if n, _ := s.Outstanding(ctx, "rx-0004"); n != 0 {
		t.Errorf("outstanding after delivery = %d", n)
	}
	if _, expires := e.item(t, "2.25.2^ed-2")["expires_at"]; !expires {
		t.Error("delivered message has no expires_at (TTL)")
	}
}

func TestDynamoPoisonAndReplay(t *testing.T) {
	nat, _ := backend(t)
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	s.Accept(ctx, e.msg("2.25.4^ed-4", "rx-0010", "1987031419966")) // cancelled prescription
	d := &outbox.Dispatcher{Queue: s, National: nat, Log: quiet, Now: e.now}
	if st, err := d.Deliver(ctx, "2.25.4^ed-4"); err != nil || st != outbox.StateDead {
		t.Fatalf("delivery = %s, %v", st, err)
	}
	dead, err := s.List(ctx, outbox.StateDead)
	if err != nil || len(dead) != 1 || dead[0].LastError == "" {
		t.Fatalf("dead = %+v, %v", dead, err)
	}
	if p, _ := s.List(ctx, outbox.StatePending); len(p) != 0 {
		t.Fatalf("pending = %+v", p)
	}
	if _, err := s.List(ctx, outbox.StateDelivered); !errors.Is(err, outbox.ErrNotIndexed) {
		t.Errorf("List(delivered): %v", err)
	}
	if err := s.Replay(ctx, "2.25.4^ed-4"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Get(ctx, "2.25.4^ed-4"); m.State != outbox.StatePending || m.Attempts != 0 {
		t.Errorf("after replay %+v", m)
	}
	if all, _ := s.List(ctx, ""); len(all) != 1 || all[0].State != outbox.StatePending {
		t.Errorf("List(all) after replay = %+v", all)
	}
	if b := e.bodies(t); len(b) != 2 {
		t.Errorf("queue after replay = %q, want the key re-queued", b)
	}
	if err := s.Replay(ctx, "2.25.4^ed-4"); err == nil {
		t.Error("replay of a pending message accepted")
	}
	if err := s.Replay(ctx, "nope"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("replay unknown: %v", err)
	}
	if err := s.Update(ctx, outbox.Message{Key: "nope", State: outbox.StatePending}); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
}

func TestDynamoCancelAfterDispense(t *testing.T) {
	nat, base := backend(t)
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	now := e.now()
	s.Accept(ctx, outbox.Message{Key: "cancel:2.25.5^ed-5", Kind: outbox.KindCancel, Target: "2.25.5^ed-5", PrescriptionID: "rx-0011", Accepted: now.Add(-time.Second)})
	m := e.msg("2.25.5^ed-5", "rx-0011", "1987031419966")
	m.Accepted = now
	s.Accept(ctx, m)
	if n, _ := s.Outstanding(ctx, "rx-0011"); n != 0 {
		t.Errorf("outstanding with a dispense and its cancel pending = %d, want 0", n)
	}
	d := &outbox.Dispatcher{Queue: s, National: nat, Log: quiet, Now: e.now, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	// The queue hands the cancel over first: it waits for its dispense.
	if st, err := d.Deliver(ctx, "cancel:2.25.5^ed-5"); err != nil || st != outbox.StatePending {
		t.Fatalf("early cancel = %s, %v", st, err)
	}
	if st, err := d.Deliver(ctx, "2.25.5^ed-5"); err != nil || st != outbox.StateDelivered {
		t.Fatalf("dispense = %s, %v", st, err)
	}
	if n := effects(t, base, "rx-0011"); n != 1 {
		t.Fatalf("effects after dispense = %d", n)
	}
	e.advance(time.Second)
	if res, err := d.RunOnce(ctx); err != nil || res.Delivered != 1 {
		t.Fatalf("sweep pass = %+v, %v", res, err)
	}
	if n := effects(t, base, "rx-0011"); n != 0 {
		t.Fatalf("effects after cancel = %d, want 0", n)
	}
}

// BenchmarkDynamoAccept: one new eDispensation accepted (Get, conditional
// put, SQS send, mark queued) and settled (conditional update) against
// dynalite and goaws; mostly the emulators' cost, a floor for the call
// count.
//
//	go test ./internal/outbox -run '^$' -bench DynamoAccept -benchmem -benchtime 500x
func BenchmarkDynamoAccept(b *testing.B) {
	e := newDynamoEnv(b)
	s := e.store(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		m := msg(fmt.Sprintf("2.25.%d^ed", i), "rx-0003", "1971011007114")
		if _, _, err := s.Accept(ctx, m); err != nil {
			b.Fatal(err)
		}
		// Settle it, as the dispatcher would.
		m.State = outbox.StateDelivered
		if err := s.Update(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDynamoUpdateIsConditional: two deliveries of the same message race
// (an SQS redelivery and the sweep); the one that settles it second cannot
// turn a delivered message back into a pending one.
func TestDynamoUpdateIsConditional(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	m, _, err := s.Accept(ctx, e.msg("2.25.12^ed-12", "rx-0003", "m"))
	if err != nil {
		t.Fatal(err)
	}
	delivered, retry := m, m
	delivered.State, delivered.Attempts, delivered.Delivered = outbox.StateDelivered, 1, e.now()
	retry.Attempts, retry.NextAttempt, retry.LastError = 1, e.now().Add(time.Minute), "timeout"
	if err := s.Update(ctx, delivered); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, retry); !errors.Is(err, outbox.ErrNotPending) {
		t.Fatalf("late retry update = %v, want ErrNotPending", err)
	}
	if got, _ := s.Get(ctx, m.Key); got.State != outbox.StateDelivered || e.stateKey(t, m.Key) != "" {
		t.Fatalf("after the race: %s, state_key %q", got.State, e.stateKey(t, m.Key))
	}
}

// TestDynamoSweepMigratesTheOldIndex: a table written by the previous
// layout (message items without state_key, listed by the aggregate
// "#outbox-index#pending" and "#outbox-index#dead" items) upgrades in
// place: the first sweep moves the messages into the index and deletes the
// aggregate items; a pending message never queued is then queued.
func TestDynamoSweepMigratesTheOldIndex(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	added := strconv.FormatInt(e.now().UnixNano(), 10)
	old := func(key string, st outbox.State, queued bool) string {
		m := e.msg(key, "rx-0003", "m")
		m.State, m.NextAttempt = st, m.Accepted
		body, _ := json.Marshal(m)
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: map[string]types.AttributeValue{
			"id": S(key), "body": S(string(body)), "state": S(string(st)), "queued": &types.AttributeValueMemberBOOL{Value: queued}}}); err != nil {
			t.Fatal(err)
		}
		return "dispense|" + added + "|rx-0003"
	}
	for st, keys := range map[outbox.State][]string{outbox.StatePending: {"2.25.13^ed-a", "2.25.13^ed-b"}, outbox.StateDead: {"2.25.13^ed-c"}} {
		entries := map[string]types.AttributeValue{}
		for i, k := range keys {
			entries[k] = S(old(k, st, i == 0))
		}
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: map[string]types.AttributeValue{
			"id": S("#outbox-index#" + string(st)), "version": &types.AttributeValueMemberN{Value: "3"},
			"entries": &types.AttributeValueMemberM{Value: entries}}}); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := s.List(ctx, ""); err != nil || len(p) != 0 {
		t.Fatalf("before the sweep the index lists %d, %v", len(p), err)
	}
	e.advance(2 * time.Minute)
	if n, err := s.Requeue(ctx); err != nil || n != 1 {
		t.Fatalf("first sweep = %d, %v; want the never-queued message queued", n, err)
	}
	if b := e.bodies(t); len(b) != 1 || b[0] != "2.25.13^ed-b" {
		t.Fatalf("queue = %q", b)
	}
	if p, err := s.List(ctx, outbox.StatePending); err != nil || len(p) != 2 {
		t.Fatalf("pending after the sweep = %d, %v; want 2", len(p), err)
	}
	if d, err := s.List(ctx, outbox.StateDead); err != nil || len(d) != 1 || d[0].Key != "2.25.13^ed-c" {
		t.Fatalf("dead after the sweep = %+v, %v", d, err)
	}
	for _, name := range []string{"#outbox-index#pending", "#outbox-index#dead"} {
		if it := e.item(t, name); it != nil {
			t.Errorf("%s kept", name)
		}
	}
}
