package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/awsfake"
	"github.com/luxncp/luxncp/internal/outbox"
)

// dynamoEnv is a DynamoDB + SQS outbox on the in-process fakes, reached
// through the real aws-sdk-go-v2 clients.
type dynamoEnv struct {
	ddb   *awsfake.DynamoDB
	q     *awsfake.SQS
	url   string
	db    *dynamodb.Client
	mq    *sqs.Client
	mu    sync.Mutex
	clock time.Time
}

func newDynamoEnv(t *testing.T) *dynamoEnv {
	t.Helper()
	e := &dynamoEnv{ddb: awsfake.NewDynamoDB(), q: awsfake.NewSQS(), clock: clock.Now().UTC().Truncate(time.Second)}
	t.Cleanup(e.ddb.Close)
	t.Cleanup(e.q.Close)
	e.ddb.CreateTable("luxncp-outbox", "id", "")
	e.url = e.q.CreateQueue("luxncp-outbox", time.Minute)
	e.db = dynamodb.NewFromConfig(e.ddb.AWSConfig())
	e.mq = sqs.NewFromConfig(e.q.AWSConfig())
	return e
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

// store opens a store on the env's table and queue: a new one per
// "process".
func (e *dynamoEnv) store(t *testing.T, mod ...func(*outbox.DynamoOptions)) *outbox.DynamoStore {
	t.Helper()
	opt := outbox.DynamoOptions{Table: "luxncp-outbox", QueueURL: e.url, Now: e.now, Log: quiet, Timeout: 2 * time.Second}
	for _, f := range mod {
		f(&opt)
	}
	s, err := outbox.NewDynamo(e.db, e.mq, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// index returns the raw JSON of an index item ("" when absent).
func (e *dynamoEnv) index(name string) string {
	for _, it := range e.ddb.Items("luxncp-outbox") {
		if strings.Contains(string(it["id"]), "#outbox-index#"+name) {
			return string(it["entries"])
		}
	}
	return ""
}

// messages returns the message items (not the index items).
func (e *dynamoEnv) messages() int {
	n := 0
	for _, it := range e.ddb.Items("luxncp-outbox") {
		if !strings.Contains(string(it["id"]), "#outbox-index#") {
			n++
		}
	}
	return n
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
	if b := e.q.Bodies("luxncp-outbox"); len(b) != 1 || b[0] != m.Key {
		t.Fatalf("queue = %q, want one message with the key", b)
	}
	if e.messages() != 1 || !strings.Contains(e.index("pending"), "ed-1") {
		t.Fatalf("items %d, pending index %s", e.messages(), e.index("pending"))
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
	for _, bad := range []string{"", "#outbox-index#pending"} {
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
	if n != 1 || e.messages() != 1 || len(e.q.Bodies("luxncp-outbox")) != 1 {
		t.Fatalf("%d inserts, %d items, queue %q; want 1, 1, 1", n, e.messages(), e.q.Bodies("luxncp-outbox"))
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
	loser, err := outbox.NewDynamo(db, e.mq, outbox.DynamoOptions{Table: "luxncp-outbox", QueueURL: e.url, Now: e.now, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	got, ins, err := loser.Accept(ctx, e.msg("2.25.6^ed-6", "rx-0003", "second"))
	if err != nil || ins || got.Matricule != "first" {
		t.Fatalf("losing accept = %+v, %v, %v; want the winner's message, not inserted", got, ins, err)
	}
	if b := e.q.Bodies("luxncp-outbox"); len(b) != 1 {
		t.Fatalf("queue = %q, want one message", b)
	}
}

func TestDynamoThrottling(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	// Two throttles: the SDK's retryer absorbs them.
	e.ddb.FailNext("PutItem", 2, awsfake.Failure{Code: awsfake.Throttling})
	if _, ins, err := s.Accept(ctx, e.msg("2.25.7^ed-7", "rx-0003", "m")); err != nil || !ins {
		t.Fatalf("accept under brief throttling = %v, %v", ins, err)
	}
	// Throttled for good: the accept fails and nothing is stored or queued.
	e.ddb.FailAlways("PutItem", awsfake.Failure{Code: awsfake.ProvisionedThroughput})
	_, _, err := s.Accept(ctx, e.msg("2.25.8^ed-8", "rx-0003", "m"))
	if err == nil || !strings.Contains(err.Error(), awsfake.ProvisionedThroughput) {
		t.Fatalf("accept under sustained throttling: %v", err)
	}
	e.ddb.Heal()
	if e.messages() != 1 || len(e.q.Bodies("luxncp-outbox")) != 1 {
		t.Fatalf("%d items, queue %q after a refused accept", e.messages(), e.q.Bodies("luxncp-outbox"))
	}
}

func TestDynamoTimeout(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t, func(o *outbox.DynamoOptions) { o.Timeout = 50 * time.Millisecond })
	e.ddb.FailAlways("GetItem", awsfake.Failure{Delay: 2 * time.Second})
	_, _, err := s.Accept(context.Background(), e.msg("2.25.9^ed-9", "rx-0003", "m"))
	e.ddb.Heal()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("accept against a hung DynamoDB: %v, want a deadline error", err)
	}
	if e.messages() != 0 {
		t.Fatal("a timed-out accept stored a message")
	}
}

// TestDynamoSendFailureIsSwept: the SQS send fails after the durable put;
// the accept still succeeds and the sweeper queues the message later.
func TestDynamoSendFailureIsSwept(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	e.q.FailAlways("SendMessage", awsfake.Failure{Code: awsfake.ServiceUnavailable, Status: 503})
	if _, ins, err := s.Accept(ctx, e.msg("2.25.10^ed-10", "rx-0003", "m")); err != nil || !ins {
		t.Fatalf("accept with SQS down = %v, %v", ins, err)
	}
	e.q.Heal()
	if b := e.q.Bodies("luxncp-outbox"); len(b) != 0 {
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
	if b := e.q.Bodies("luxncp-outbox"); len(b) != 1 || b[0] != "2.25.10^ed-10" {
		t.Fatalf("queue = %q", b)
	}
}

// TestDynamoStaleIndexEntryDropped: a crash between the index write and
// the message put leaves an entry without a message; Due drops it once it
// is older than the grace period.
func TestDynamoStaleIndexEntryDropped(t *testing.T) {
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	// The index put succeeds, the message put fails for good.
	db := &failSecondPut{DynamoAPI: e.db}
	s2, _ := outbox.NewDynamo(db, e.mq, outbox.DynamoOptions{Table: "luxncp-outbox", QueueURL: e.url, Now: e.now, Log: quiet})
	if _, _, err := s2.Accept(ctx, e.msg("2.25.11^ed-11", "rx-0003", "m")); err == nil {
		t.Fatal("accept succeeded although the message put failed")
	}
	if !strings.Contains(e.index("pending"), "ed-11") {
		t.Fatalf("pending index %s", e.index("pending"))
	}
	if due, err := s.Due(ctx, e.now(), 0); err != nil || len(due) != 0 {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if !strings.Contains(e.index("pending"), "ed-11") {
		t.Fatal("a fresh entry was dropped (it may belong to an accept in progress)")
	}
	e.advance(2 * time.Minute)
	s.Due(ctx, e.now(), 0)
	if strings.Contains(e.index("pending"), "ed-11") {
		t.Fatalf("stale entry kept: %s", e.index("pending"))
	}
}

type failSecondPut struct {
	outbox.DynamoAPI
	n int
}

func (f *failSecondPut) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, isMsg := in.Item["body"]; isMsg {
		return nil, errors.New("injected: the process died")
	}
	return f.DynamoAPI.PutItem(ctx, in, opt...)
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
	if p := e.index("pending"); strings.Contains(p, "ed-1") {
		t.Errorf("delivered message still indexed as pending: %s", p)
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
	var expires bool
	for _, it := range e.ddb.Items("luxncp-outbox") {
		if strings.Contains(string(it["id"]), "ed-2") {
			_, expires = it["expires_at"]
		}
	}
	if !expires {
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
	if b := e.q.Bodies("luxncp-outbox"); len(b) != 2 {
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

// BenchmarkDynamoAccept: one new eDispensation accepted (Get, index
// update, conditional put, SQS send, mark queued) against the in-process
// fakes; mostly the SDK's and the fakes' cost, a floor for the call count.
//
//	go test ./internal/outbox -run '^$' -bench DynamoAccept -benchmem -benchtime 2000x
func BenchmarkDynamoAccept(b *testing.B) {
	ddb, q := awsfake.NewDynamoDB(), awsfake.NewSQS()
	defer ddb.Close()
	defer q.Close()
	ddb.CreateTable("outbox", "id", "")
	url := q.CreateQueue("outbox", time.Minute)
	s, err := outbox.NewDynamo(dynamodb.NewFromConfig(ddb.AWSConfig()), sqs.NewFromConfig(q.AWSConfig()), outbox.DynamoOptions{Table: "outbox", QueueURL: url, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		m := msg(fmt.Sprintf("2.25.%d^ed", i), "rx-0003", "1971011007114")
		if _, _, err := s.Accept(ctx, m); err != nil {
			b.Fatal(err)
		}
		// Settle it, as the dispatcher would, so the pending index stays small.
		m.State = outbox.StateDelivered
		if err := s.Update(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// The DynamoDB + SQS outbox: an eDispensation accepted twice (a partner's
// resubmission) is stored and queued once.
func ExampleDynamoStore() {
	ddb, q := awsfake.NewDynamoDB(), awsfake.NewSQS()
	defer ddb.Close()
	defer q.Close()
	ddb.CreateTable("luxncp-outbox", "id", "")
	url := q.CreateQueue("luxncp-outbox", time.Minute)
	s, err := outbox.NewDynamo(dynamodb.NewFromConfig(ddb.AWSConfig()), sqs.NewFromConfig(q.AWSConfig()),
		outbox.DynamoOptions{Table: "luxncp-outbox", QueueURL: url, Log: quiet})
	if err != nil {
		panic(err)
	}
	for range 2 {
		_, inserted, err := s.Accept(context.Background(), outbox.Message{Key: "2.25.1^ed-1", Kind: outbox.KindDispense, PrescriptionID: "rx-0003", Accepted: clock.Now()})
		fmt.Println("inserted:", inserted, err)
	}
	fmt.Println("queued:", q.Bodies("luxncp-outbox"))
	// Output:
	// inserted: true <nil>
	// inserted: false <nil>
	// queued: [2.25.1^ed-1]
}
