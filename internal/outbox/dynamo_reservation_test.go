package outbox_test

// The eDispensation reservations on DynamoDB, through the DynamoStore API
// only (the item layout may change): the last unit of a prescription item
// under concurrency, an acceptance that crashed at every write, the release
// of a reservation by a delivered discard and by an operator's resolve.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
)

// dispenseMsg is a dispensation of rx with a binding (as the XDR service
// fills it).
func (e *dynamoEnv) dispenseMsg(key, rx string) outbox.Message {
	m := e.msg(key, rx, "1971011007114")
	m.Country, m.Organisation, m.ContentHash = "FR", "pharmacy-fr", "hash-"+key
	return m
}

// pendingKeys lists the keys of the pending dispensations of rx.
func pendingKeys(t *testing.T, s *outbox.DynamoStore, rx string) []string {
	t.Helper()
	msgs, err := s.List(context.Background(), outbox.StatePending)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Kind == outbox.KindDispense && m.PrescriptionID == rx {
			out = append(out, m.Key)
		}
	}
	return out
}

// TestDynamoLastUnitRace: many processes reserve the last dispensation of
// a prescription item at once; exactly one wins, the others are told it is
// exhausted, and a dispensation the national record holds that luxncp did
// not make counts too.
func TestDynamoLastUnitRace(t *testing.T) {
	e := newDynamoEnv(t)
	ctx := context.Background()
	// Three allowed: one made elsewhere (the national record lists it),
	// one accepted here; one left.
	r := outbox.Reservation{Allowed: 3, National: []string{"made-elsewhere"}}
	if _, v, err := e.store(t).Dispense(ctx, e.dispenseMsg("2.25.1^ed-0", "rx-0004"), r); err != nil || v != outbox.Accepted {
		t.Fatalf("first = %v, %v", v, err)
	}
	const n = 12
	var wins, exhausted atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := e.store(t) // one process each
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, v, err := s.Dispense(ctx, e.dispenseMsg(fmt.Sprintf("2.25.1^ed-%d", i+1), "rx-0004"), r)
			switch {
			case err != nil:
				errs <- err
			case v == outbox.Accepted:
				wins.Add(1)
			case v == outbox.Exhausted:
				exhausted.Add(1)
			default:
				errs <- fmt.Errorf("verdict %s", v)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != 1 || exhausted.Load() != n-1 {
		t.Fatalf("last unit: %d won, %d exhausted; want 1 and %d", wins.Load(), exhausted.Load(), n-1)
	}
	if keys := pendingKeys(t, e.store(t), "rx-0004"); len(keys) != 2 {
		t.Fatalf("pending dispensations of rx-0004 = %v, want 2", keys)
	}
}

// dyingDB is a process that dies after its first `left` writes: every
// later write (DynamoDB or SQS) fails without effect.
type dyingDB struct {
	outbox.DynamoAPI
	left atomic.Int32
}

var errDied = errors.New("injected: the process died")

func (d *dyingDB) write() bool { return d.left.Add(-1) >= 0 }

func (d *dyingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if !d.write() {
		return nil, errDied
	}
	return d.DynamoAPI.PutItem(ctx, in, opt...)
}

func (d *dyingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if !d.write() {
		return nil, errDied
	}
	return d.DynamoAPI.UpdateItem(ctx, in, opt...)
}

type dyingQueue struct {
	outbox.SendAPI
	db *dyingDB
}

func (q dyingQueue) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opt ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if !q.db.write() {
		return nil, errDied
	}
	return q.SendAPI.SendMessage(ctx, in, opt...)
}

// TestDynamoDispenseCrashAtEveryWrite: a process dies after each write of
// an acceptance in turn (one dispensation allowed). Whatever it left, the
// pharmacy's resend is accepted once; and a dispensation with another id
// gets the item only if the crashed one holds nothing acknowledged, once
// the stale reservation is older than the grace period (before that it may
// be an acceptance in progress).
func TestDynamoDispenseCrashAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	r := outbox.Reservation{Allowed: 1}
	u := startEmulators(t) // a fresh table and queue per case
	for k := 0; ; k++ {
		if k > 30 {
			t.Fatal("Dispense still fails after 30 writes")
		}
		done := false
		for _, resend := range []bool{true, false} {
			e := u.env(t)
			db := &dyingDB{DynamoAPI: e.db}
			db.left.Store(int32(k))
			dying, err := outbox.NewDynamo(db, dyingQueue{e.mq, db}, e.options())
			if err != nil {
				t.Fatal(err)
			}
			a := e.dispenseMsg("2.25.2^ed-a", "rx-0003")
			_, v, err := dying.Dispense(ctx, a, r)
			if err == nil && v == outbox.Accepted {
				done = true
			} else if err == nil {
				t.Fatalf("after %d writes: verdict %s", k, v)
			}
			s := e.store(t) // the next process
			_, getErr := s.Get(ctx, a.Key)
			if resend {
				if _, v, err := s.Dispense(ctx, a, r); err != nil || (v != outbox.Accepted && v != outbox.Duplicate) {
					t.Fatalf("after %d writes: resend = %s, %v", k, v, err)
				}
				if keys := pendingKeys(t, s, "rx-0003"); len(keys) != 1 || keys[0] != a.Key {
					t.Fatalf("after %d writes and a resend: pending %v", k, keys)
				}
				if _, v, err := s.Dispense(ctx, e.dispenseMsg("2.25.2^ed-b", "rx-0003"), r); err != nil || v != outbox.Exhausted {
					t.Fatalf("after %d writes and a resend: another id = %s, %v; want exhausted", k, v, err)
				}
				continue
			}
			e.advance(2 * time.Minute) // beyond the grace period
			_, v, err = s.Dispense(ctx, e.dispenseMsg("2.25.2^ed-b", "rx-0003"), r)
			want := outbox.Accepted
			if getErr == nil {
				want = outbox.Exhausted // a stored dispensation keeps its reservation
			}
			if err != nil || v != want {
				t.Fatalf("after %d writes (message stored: %v): another id = %s, %v; want %s", k, getErr == nil, v, err, want)
			}
		}
		if done {
			return
		}
	}
}

// fixedNational is a national record that applies every effect, or refuses
// every one (409) when refuse is set.
type fixedNational struct {
	refuse bool
	active map[string]bool
}

func (n *fixedNational) RecordDispense(_ context.Context, d national.Dispense) error {
	if n.refuse {
		return fmt.Errorf("create: %w", national.ErrConflict)
	}
	n.active[d.Key] = true
	return nil
}

func (n *fixedNational) CancelDispense(_ context.Context, key string) error {
	delete(n.active, key)
	return nil
}

// reservation is what the XDR service passes: the national record's
// active dispensations of the item.
func (n *fixedNational) reservation(allowed int) outbox.Reservation {
	r := outbox.Reservation{Allowed: allowed}
	for k := range n.active {
		r.National = append(r.National, k)
	}
	return r
}

// TestDynamoReservationReleased: a reservation holds until the discard is
// delivered (the national record no longer counts it) or an operator
// resolves the dead dispensation; then the item is dispensable again.
func TestDynamoReservationReleased(t *testing.T) {
	ctx := context.Background()
	t.Run("discard delivered", func(t *testing.T) {
		e := newDynamoEnv(t)
		s := e.store(t)
		nat := &fixedNational{active: map[string]bool{}}
		d := &outbox.Dispatcher{Queue: s, National: nat, Now: e.now, Log: quiet}
		a, b := e.dispenseMsg("2.25.3^ed-a", "rx-0001"), e.dispenseMsg("2.25.3^ed-b", "rx-0001")
		if _, v, err := s.Dispense(ctx, a, nat.reservation(1)); err != nil || v != outbox.Accepted {
			t.Fatalf("a = %s, %v", v, err)
		}
		if st, err := d.Deliver(ctx, a.Key); err != nil || st != outbox.StateDelivered {
			t.Fatalf("deliver a = %s, %v", st, err)
		}
		if _, ins, err := s.Accept(ctx, outbox.Message{Key: outbox.CancelKey(a.Key), Kind: outbox.KindCancel, Target: a.Key, PrescriptionID: "rx-0001", Accepted: e.now()}); err != nil || !ins {
			t.Fatalf("discard a = %v, %v", ins, err)
		}
		e.advance(2 * time.Minute)
		if _, v, err := s.Dispense(ctx, b, nat.reservation(1)); err != nil || v != outbox.Exhausted {
			t.Fatalf("b before the discard is delivered = %s, %v; want exhausted", v, err)
		}
		if st, err := d.Deliver(ctx, outbox.CancelKey(a.Key)); err != nil || st != outbox.StateDelivered {
			t.Fatalf("deliver the discard = %s, %v", st, err)
		}
		if _, v, err := s.Dispense(ctx, b, nat.reservation(1)); err != nil || v != outbox.Accepted {
			t.Fatalf("b after the discard = %s, %v; want accepted", v, err)
		}
	})
	t.Run("dead letter resolved", func(t *testing.T) {
		e := newDynamoEnv(t)
		s := e.store(t)
		nat := &fixedNational{refuse: true, active: map[string]bool{}}
		d := &outbox.Dispatcher{Queue: s, National: nat, Now: e.now, Log: quiet}
		a, b := e.dispenseMsg("2.25.4^ed-a", "rx-0001"), e.dispenseMsg("2.25.4^ed-b", "rx-0001")
		if _, v, err := s.Dispense(ctx, a, nat.reservation(1)); err != nil || v != outbox.Accepted {
			t.Fatalf("a = %s, %v", v, err)
		}
		if err := s.Resolve(ctx, a.Key, "not dead yet"); !errors.Is(err, outbox.ErrNotDead) {
			t.Fatalf("resolve of a pending message = %v, want ErrNotDead", err)
		}
		if st, err := d.Deliver(ctx, a.Key); err != nil || st != outbox.StateDead {
			t.Fatalf("deliver a refused = %s, %v; want dead", st, err)
		}
		e.advance(2 * time.Minute)
		if _, v, err := s.Dispense(ctx, b, nat.reservation(1)); err != nil || v != outbox.Exhausted {
			t.Fatalf("b while a is dead = %s, %v; want exhausted (a dead letter may be replayed)", v, err)
		}
		if err := s.Resolve(ctx, a.Key, "dispensed on paper; recorded by the registry team"); err != nil {
			t.Fatal(err)
		}
		if dead, err := s.List(ctx, outbox.StateDead); err != nil || len(dead) != 0 {
			t.Fatalf("dead after resolve = %+v, %v", dead, err)
		}
		if _, v, err := s.Dispense(ctx, b, nat.reservation(1)); err != nil || v != outbox.Accepted {
			t.Fatalf("b after the resolve = %s, %v; want accepted", v, err)
		}
	})
}
