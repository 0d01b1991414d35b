package outbox_test

// The DynamoDB outbox under a national outage's backlog, on dynalite (which
// enforces DynamoDB's 400 KB item limit): 10,000 pending eDispensations
// are accepted, listed, found due, swept and delivered, and no item grows
// with the backlog.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/testutil"
)

// backlog is the outage the test models: 10,000 eDispensations pending.
const backlog = 10_000

// itemSize is an item's size as DynamoDB counts it against the 400 KB
// limit: each attribute's name plus its value (strings by their UTF-8
// length, numbers about one byte per two digits plus one, booleans one;
// maps and lists three bytes plus their elements).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return (len(strings.TrimLeft(v.Value, "-0"))+1)/2 + 1
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += len(k) + valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += valueSize(e) + 1
		}
		return n
	}
	return 0
}

// largestItem is the size and id of the table's largest item.
func (e *dynamoEnv) largestItem(t testing.TB) (int, string) {
	t.Helper()
	size, id := 0, ""
	for _, it := range e.items(t) {
		if n := itemSize(it); n > size {
			v, _ := it["id"].(*types.AttributeValueMemberS)
			size, id = n, v.Value
		}
	}
	return size, id
}

// recordingNational applies every dispensation and counts the effects
// per key.
type recordingNational struct {
	mu      sync.Mutex
	effects map[string]int
}

func (n *recordingNational) RecordDispense(_ context.Context, d national.Dispense) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.effects[d.Key]++
	return nil
}

func (n *recordingNational) CancelDispense(context.Context, string) error {
	return errors.New("not in this test")
}

// parallel runs f(i) for i in [0, n) on workers goroutines; the first
// error stops it.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// TestDynamoBacklogOf10000: a national outage leaves 10,000 acknowledged
// eDispensations pending. Each is accepted (concurrently, through the
// store's API), the index pages through all of them for List, Due and
// OldestPending, the sweep finds nothing to re-send, the dispatcher
// delivers every one exactly once from the SQS queue, and the backlog
// leaves the index. The largest item is the same size with one message
// pending as with 10,000: nothing grows with the backlog.
func TestDynamoBacklogOf10000(t *testing.T) {
	if testutil.Race {
		t.Skip("proved in make test's run without -race; under -race it adds minutes and no concurrency the other outbox tests lack")
	}
	start := clock.Now()
	e := newDynamoEnv(t)
	s := e.store(t)
	ctx := context.Background()
	// A MedicationDispense of a realistic size, the same for every message.
	resource := []byte(`{"resourceType":"MedicationDispense","status":"completed","note":"` + strings.Repeat("x", 1200) + `"}`)
	t0 := e.now()
	message := func(i int) outbox.Message {
		m := e.msg(fmt.Sprintf("2.25.%d^ed-%05d", 1000+i%7, i), fmt.Sprintf("rx-%05d", i), "1971011007114")
		m.Accepted, m.Resource = t0.Add(time.Duration(i)*time.Millisecond), resource
		return m
	}
	if _, ins, err := s.Accept(ctx, message(0)); err != nil || !ins {
		t.Fatalf("accept 0 = %v, %v", ins, err)
	}
	sizeOne, idOne := e.largestItem(t)

	began := clock.Now()
	err := parallel(ctx, backlog-1, 16, func(ctx context.Context, i int) error {
		_, ins, err := s.Accept(ctx, message(i+1))
		if err == nil && !ins {
			err = fmt.Errorf("message %d not inserted", i+1)
		}
		return err
	})
	accepted := clock.Now().Sub(began)
	if err != nil {
		t.Fatalf("accepting the backlog: %v", err)
	}
	t.Logf("accepted %d messages on dynalite in %v (%.0f/s)", backlog-1, accepted.Round(time.Millisecond), float64(backlog-1)/accepted.Seconds())

	sizeAll, idAll := e.largestItem(t)
	t.Logf("largest item: %d bytes (%s) with 1 pending, %d bytes (%s) with %d pending", sizeOne, idOne, sizeAll, idAll, backlog)
	// Messages differ by a few bytes (their times and keys print at
	// different lengths); the old pending index grew by about 56 bytes a
	// message (TestDynamoOldIndexWouldFail).
	if sizeAll > sizeOne+32 {
		t.Errorf("the largest item grew with the backlog: %d bytes with 1 message, %d with %d", sizeOne, sizeAll, backlog)
	}

	// List pages through the whole backlog, in acceptance order.
	pending, err := s.List(ctx, outbox.StatePending)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != backlog {
		t.Fatalf("List(pending) = %d messages, want %d", len(pending), backlog)
	}
	for i, m := range pending {
		if want := message(i).Key; m.Key != want {
			t.Fatalf("List(pending)[%d] = %s, want %s (acceptance order)", i, m.Key, want)
		}
	}
	// Due: every message is due at the last acceptance; a limit takes the
	// oldest.
	last := t0.Add((backlog - 1) * time.Millisecond)
	if due, err := s.Due(ctx, last, 0); err != nil || len(due) != backlog {
		t.Fatalf("Due = %d messages, %v; want %d", len(due), err, backlog)
	}
	due, err := s.Due(ctx, t0.Add(4999*time.Millisecond), 100)
	if err != nil || len(due) != 100 || due[0].Key != message(0).Key || due[99].Key != message(99).Key {
		t.Fatalf("Due(limit 100) = %d messages, %v; want the 100 oldest", len(due), err)
	}
	if due, err := s.Due(ctx, t0.Add(4999*time.Millisecond), 0); err != nil || len(due) != 5000 {
		t.Fatalf("Due half way = %d messages, %v; want 5000", len(due), err)
	}
	if age, err := s.OldestPending(ctx, last); err != nil || age != last.Sub(t0) {
		t.Fatalf("OldestPending = %v, %v; want %v", age, err, last.Sub(t0))
	}
	// Every message was queued: beyond the grace period the sweep sends
	// none again.
	e.advance(2 * time.Minute)
	if n, err := s.Requeue(ctx); err != nil || n != 0 {
		t.Fatalf("Requeue = %d, %v; want 0", n, err)
	}

	// The national record is back: the dispatcher delivers the queue.
	nat := &recordingNational{effects: map[string]int{}}
	d := &outbox.Dispatcher{Queue: s, National: nat, Now: e.now, Log: quiet}
	began = clock.Now()
	var mu sync.Mutex
	received := map[string]bool{}
	err = parallel(ctx, backlog/10+50, 8, func(ctx context.Context, _ int) error {
		out, err := e.mq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url), MaxNumberOfMessages: 10, VisibilityTimeout: 3600})
		if err != nil {
			return err
		}
		for _, qm := range out.Messages {
			key := aws.ToString(qm.Body)
			mu.Lock()
			dup := received[key]
			received[key] = true
			mu.Unlock()
			// SQS delivers at least once: a message whose visibility
			// ran out on a slow machine comes again, and delivering it
			// again must be harmless (one national effect, checked below).
			st, err := d.Deliver(ctx, key)
			if err != nil || (st != outbox.StateDelivered && !dup) {
				return fmt.Errorf("deliver %s = %s, %v", key, st, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("delivering the backlog: %v", err)
	}
	t.Logf("delivered %d messages from goaws in %v", len(received), clock.Now().Sub(began).Round(time.Millisecond))
	if len(received) != backlog || len(nat.effects) != backlog {
		t.Fatalf("received %d queue messages, %d national effects; want %d each", len(received), len(nat.effects), backlog)
	}
	for k, n := range nat.effects {
		if n != 1 {
			t.Fatalf("%s: %d national effects", k, n)
		}
	}

	// The backlog has left the index.
	if p, err := s.List(ctx, ""); err != nil || len(p) != 0 {
		t.Fatalf("List after delivery = %d messages, %v", len(p), err)
	}
	if due, err := s.Due(ctx, e.now(), 0); err != nil || len(due) != 0 {
		t.Fatalf("Due after delivery = %d messages, %v", len(due), err)
	}
	if age, err := s.OldestPending(ctx, e.now()); err != nil || age != 0 {
		t.Fatalf("OldestPending after delivery = %v, %v", age, err)
	}
	if got, err := s.Get(ctx, message(backlog-1).Key); err != nil || got.State != outbox.StateDelivered || e.stateKey(t, got.Key) != "" {
		t.Fatalf("last message = %+v, %v, state_key %q", got, err, e.stateKey(t, got.Key))
	}
	t.Logf("the whole test took %v", clock.Now().Sub(start).Round(time.Millisecond))
}

// TestDynamoOldIndexWouldFail shows the failure the backlog test guards
// against is real on this emulator: the previous design's pending index,
// one item listing every pending key, is refused by dynalite well before
// 10,000 entries (DynamoDB's 400 KB item limit), where the largest item of
// TestDynamoBacklogOf10000 is one message's.
func TestDynamoOldIndexWouldFail(t *testing.T) {
	e := newDynamoEnv(t)
	ctx := context.Background()
	entries := map[string]types.AttributeValue{}
	now := e.now().UnixNano()
	for i := range backlog {
		// The old entry: key → kind|added|prescription.
		entries[fmt.Sprintf("2.25.%d^ed-%05d", 1000+i%7, i)] = &types.AttributeValueMemberS{Value: fmt.Sprintf("dispense|%d|rx-%05d", now, i)}
	}
	item := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "#outbox-index#pending"},
		"version": &types.AttributeValueMemberN{Value: "1"}, "entries": &types.AttributeValueMemberM{Value: entries}}
	t.Logf("the old pending index with %d entries: %d bytes", backlog, itemSize(item))
	_, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item})
	if err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("dynalite stored a %d-byte item: %v; want the 400 KB item limit", itemSize(item), err)
	}
}
