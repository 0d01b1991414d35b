package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// DynamoAPI is the part of the DynamoDB client the DynamoStore uses
// (*dynamodb.Client satisfies it).
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// SendAPI is the part of the SQS client the DynamoStore uses
// (*sqs.Client satisfies it).
type SendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// DynamoOptions configure a DynamoStore.
type DynamoOptions struct {
	// Table is the outbox table, as TableInput describes it (hash key "id",
	// TTL attribute "expires_at", the sparse index StateIndex).
	Table string
	// QueueURL is the SQS queue the dispatcher function consumes.
	QueueURL string
	// Retention keeps delivered messages (so a late resubmission is still
	// recognised) before DynamoDB's TTL removes them. Default 400 days.
	Retention time.Duration
	// Timeout bounds each AWS call (default 5 s).
	Timeout time.Duration
	// Grace is how long after it became pending a message that was never
	// queued is left to the Accept or Replay in progress before the sweep
	// queues it, and how old a reservation without a message must be
	// before Dispense drops it. Default 1 minute.
	Grace time.Duration
	// Overdue is how late a pending message's next attempt may be before
	// the sweep sends it again even though it was queued (its queue message
	// was lost or moved to the SQS dead-letter queue after
	// maxReceiveCount): delivery never gives up on a pending message.
	// Default 15 minutes.
	Overdue time.Duration
	// Now is the clock (nil: the system clock).
	Now func() time.Time
	Log *slog.Logger
}

// DynamoStore is the AWS Store: one DynamoDB item per message (a
// conditional put makes Accept idempotent) and an SQS message per accepted
// key for the dispatcher function. No item grows with the backlog.
//
// A message item carries the key of the sparse global secondary index
// StateIndex only while it is pending or dead: attribute state_key
// ("pending#<shard>" or "dead#<shard>", the shard a hash of the message key
// modulo StateShards) with sort key accepted_at (acceptance time, Unix
// nanoseconds). Delivery or an operator's resolve REMOVEs state_key in the
// same write that changes the state, so delivered messages leave the index
// and the index holds exactly the backlog. Due, List, Requeue and
// OldestPending are paginated Queries of the StateShards partitions of a
// state; the index is eventually consistent, so every message it names is
// read again from its own item (strongly consistent BatchGetItem) before it
// is returned or acted on.
//
// Every state transition is one conditional write on the message item:
// Update requires it pending, Replay and Resolve require it dead. Because
// Accept writes the message before it sends the SQS message, a failed send
// leaves a durable pending message with queued=false; Requeue (the
// sweeper) sends it.
//
// Reservations (see Dispense) are per prescription item: an item holding
// at most 1 + numberOfRepeatsAllowed keys, written with optimistic locking.
//
// List answers pending and dead messages only: delivered ones are not
// indexed (Get them by key).
type DynamoStore struct {
	db  DynamoAPI
	q   SendAPI
	opt DynamoOptions
}

var _ Store = (*DynamoStore)(nil)

// ErrNotIndexed: the DynamoDB outbox cannot list delivered messages.
var ErrNotIndexed = errors.New("outbox: the DynamoDB outbox lists pending and dead messages only")

// ErrNotPending: Update of a message that is no longer pending (another
// delivery of the same message settled it first).
var ErrNotPending = errors.New("outbox: the message is no longer pending")

// Item attribute names.
const (
	attrID       = "id"
	attrBody     = "body"
	attrState    = "state"
	attrQueued   = "queued"
	attrExpires  = "expires_at"
	attrStateKey = "state_key"   // StateIndex hash key; only while pending or dead
	attrAccepted = "accepted_at" // StateIndex sort key: Unix nanoseconds
	attrNext     = "next_at"     // next attempt, Unix nanoseconds (projected: Due filters on it)
	attrSince    = "since"       // when it last became pending, Unix nanoseconds (projected: Requeue's grace)
	// reservedPrefix starts the ids of the store's own items (reservations);
	// no message key may start with it.
	reservedPrefix = "#outbox-index#"
	// batchGetMax is DynamoDB's BatchGetItem limit.
	batchGetMax = 100
	// sweepWorkers bounds Requeue's concurrent sends.
	sweepWorkers = 8
)

// NewDynamo returns the DynamoDB + SQS outbox.
func NewDynamo(db DynamoAPI, q SendAPI, opt DynamoOptions) (*DynamoStore, error) {
	if db == nil || opt.Table == "" {
		return nil, errors.New("outbox: a DynamoDB client and table are required")
	}
	if q == nil || opt.QueueURL == "" {
		return nil, errors.New("outbox: an SQS client and queue URL are required")
	}
	if opt.Retention <= 0 {
		opt.Retention = 400 * 24 * time.Hour
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.Grace <= 0 {
		opt.Grace = time.Minute
	}
	if opt.Overdue <= 0 {
		opt.Overdue = 15 * time.Minute
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &DynamoStore{db: db, q: q, opt: opt}, nil
}

func (s *DynamoStore) now() time.Time {
	return clock.Or(s.opt.Now)()
}

func (s *DynamoStore) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opt.Timeout)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func boolean(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// nanos is t in Unix nanoseconds (0 for the zero time).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func numOf(item map[string]types.AttributeValue, name string) int64 {
	v, _ := item[name].(*types.AttributeValueMemberN)
	if v == nil {
		return 0
	}
	n, _ := strconv.ParseInt(v.Value, 10, 64)
	return n
}

func keyOf(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrID: str(id)}
}

func isConditional(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// stateKey is the StateIndex partition of a message in state st.
func stateKey(st State, key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return string(st) + "#" + strconv.Itoa(int(h.Sum32()%StateShards))
}

func decodeMessage(item map[string]types.AttributeValue) (Message, error) {
	b, ok := item[attrBody].(*types.AttributeValueMemberS)
	if !ok {
		return Message{}, errors.New("outbox: item has no message body")
	}
	var m Message
	if err := json.Unmarshal([]byte(b.Value), &m); err != nil {
		return Message{}, fmt.Errorf("outbox: item body: %w", err)
	}
	return m, nil
}

func encodeBody(m Message) (types.AttributeValue, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return str(string(b)), nil
}

// get reads one message item (consistent read).
func (s *DynamoStore) get(ctx context.Context, key string) (Message, map[string]types.AttributeValue, error) {
	c, cancel := s.call(ctx)
	defer cancel()
	out, err := s.db.GetItem(c, &dynamodb.GetItemInput{TableName: aws.String(s.opt.Table), Key: keyOf(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Message{}, nil, fmt.Errorf("outbox: get: %w", err)
	}
	if len(out.Item) == 0 {
		return Message{}, nil, ErrNotFound
	}
	m, err := decodeMessage(out.Item)
	return m, out.Item, err
}

// Get implements Ledger.
func (s *DynamoStore) Get(ctx context.Context, key string) (Message, error) {
	m, _, err := s.get(ctx, key)
	return m, err
}

// Accept implements Ledger.
func (s *DynamoStore) Accept(ctx context.Context, m Message) (Message, bool, error) {
	if m.Key == "" || strings.HasPrefix(m.Key, reservedPrefix) {
		return Message{}, false, fmt.Errorf("outbox: invalid message key %q", m.Key)
	}
	// A resubmission is the common duplicate: answer it with one read.
	if old, err := s.Get(ctx, m.Key); err == nil {
		return old, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Message{}, false, err
	}
	if m.State == "" {
		m.State = StatePending
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = m.Accepted
	}
	body, err := encodeBody(m)
	if err != nil {
		return Message{}, false, err
	}
	item := map[string]types.AttributeValue{
		attrID: str(m.Key), attrBody: body, attrState: str(string(m.State)), attrQueued: boolean(false),
		attrAccepted: num(nanos(m.Accepted)), attrNext: num(nanos(m.NextAttempt)), attrSince: num(s.now().UnixNano()),
	}
	if m.State == StatePending || m.State == StateDead {
		item[attrStateKey] = str(stateKey(m.State, m.Key))
	}
	c, cancel := s.call(ctx)
	_, err = s.db.PutItem(c, &dynamodb.PutItemInput{
		TableName: aws.String(s.opt.Table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": attrID},
	})
	cancel()
	if isConditional(err) {
		// A concurrent Accept of the same key won.
		old, gerr := s.Get(ctx, m.Key)
		if gerr != nil {
			return Message{}, false, fmt.Errorf("outbox: accept (duplicate): %w", gerr)
		}
		return old, false, nil
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("outbox: accept: %w", err)
	}
	// Durable from here: a failed send is repaired by Requeue.
	if m.State == StatePending {
		if err := s.enqueue(ctx, m.Key); err != nil {
			s.opt.Log.Warn("outbox: accepted but not queued; the sweeper will queue it", "error", err.Error())
		}
	}
	return m, true, nil
}

// enqueue sends key to the queue and marks the message queued.
func (s *DynamoStore) enqueue(ctx context.Context, key string) error {
	c, cancel := s.call(ctx)
	defer cancel()
	if _, err := s.q.SendMessage(c, &sqs.SendMessageInput{QueueUrl: aws.String(s.opt.QueueURL), MessageBody: aws.String(key)}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	c2, cancel2 := s.call(ctx)
	defer cancel2()
	_, err := s.db.UpdateItem(c2, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.opt.Table), Key: keyOf(key),
		UpdateExpression:          aws.String("SET #q = :t"),
		ConditionExpression:       aws.String("attribute_exists(#id)"),
		ExpressionAttributeNames:  map[string]string{"#q": attrQueued, "#id": attrID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": boolean(true)},
	})
	if err != nil {
		return fmt.Errorf("mark queued: %w", err)
	}
	return nil
}

// Outstanding counts the pending dispensations of a prescription (minus
// their pending discards). It reads the whole pending backlog: for tests
// and operators, not for a request path.
func (s *DynamoStore) Outstanding(ctx context.Context, prescriptionID string) (int, error) {
	pending, err := s.indexed(ctx, StatePending, nil)
	if err != nil {
		return 0, err
	}
	return outstanding(pending, prescriptionID), nil
}

// indexEntry is what StateIndex says of a message (keys and the projected
// attributes); the message's own item has the last word.
type indexEntry struct {
	key      string
	accepted int64
	next     int64
	since    int64
	queued   bool
}

// filter is an optional FilterExpression on the index's projected
// attributes (names and values added to the query's).
type filter struct {
	expr   string
	names  map[string]string
	values map[string]types.AttributeValue
}

// scan lists every StateIndex entry of a state (all shards, every page)
// that passes f, in acceptance order.
func (s *DynamoStore) scan(ctx context.Context, st State, f *filter) ([]indexEntry, error) {
	var out []indexEntry
	for shard := range StateShards {
		var start map[string]types.AttributeValue
		for {
			in := &dynamodb.QueryInput{
				TableName: aws.String(s.opt.Table), IndexName: aws.String(StateIndex),
				KeyConditionExpression:    aws.String("#sk = :sk"),
				ExpressionAttributeNames:  map[string]string{"#sk": attrStateKey},
				ExpressionAttributeValues: map[string]types.AttributeValue{":sk": str(string(st) + "#" + strconv.Itoa(shard))},
				ExclusiveStartKey:         start,
			}
			if f != nil {
				in.FilterExpression = aws.String(f.expr)
				maps.Copy(in.ExpressionAttributeNames, f.names)
				maps.Copy(in.ExpressionAttributeValues, f.values)
			}
			c, cancel := s.call(ctx)
			page, err := s.db.Query(c, in)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("outbox: query %s: %w", StateIndex, err)
			}
			for _, it := range page.Items {
				id, _ := it[attrID].(*types.AttributeValueMemberS)
				if id == nil {
					continue
				}
				q, _ := it[attrQueued].(*types.AttributeValueMemberBOOL)
				out = append(out, indexEntry{key: id.Value, accepted: numOf(it, attrAccepted), next: numOf(it, attrNext),
					since: numOf(it, attrSince), queued: q != nil && q.Value})
			}
			if len(page.LastEvaluatedKey) == 0 {
				break
			}
			start = page.LastEvaluatedKey
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].accepted != out[j].accepted {
			return out[i].accepted < out[j].accepted
		}
		return out[i].key < out[j].key
	})
	return out, nil
}

// fetch reads the items of keys with strongly consistent BatchGetItems
// (by key; a key without an item is absent).
func (s *DynamoStore) fetch(ctx context.Context, keys []string) (map[string]map[string]types.AttributeValue, error) {
	out := make(map[string]map[string]types.AttributeValue, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), batchGetMax)
		want := make([]map[string]types.AttributeValue, 0, n)
		for _, k := range keys[:n] {
			want = append(want, keyOf(k))
		}
		keys = keys[n:]
		for try := 0; len(want) > 0; try++ {
			if try > 0 {
				// Unprocessed keys (throttling): back off a little.
				if err := sleep(ctx, time.Duration(min(try, 6))*20*time.Millisecond); err != nil {
					return nil, err
				}
			}
			c, cancel := s.call(ctx)
			res, err := s.db.BatchGetItem(c, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.opt.Table: {Keys: want, ConsistentRead: aws.Bool(true)},
			}})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("outbox: batch get: %w", err)
			}
			for _, it := range res.Responses[s.opt.Table] {
				if id, ok := it[attrID].(*types.AttributeValueMemberS); ok {
					out[id.Value] = it
				}
			}
			want = res.UnprocessedKeys[s.opt.Table].Keys
			if try > 50 {
				return nil, errors.New("outbox: batch get: keys left unprocessed")
			}
		}
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// messages reads the messages of entries from their own items, keeping
// those in state st that keep (nil: all) accepts, in entries' order, at
// most limit (0: all).
func (s *DynamoStore) messages(ctx context.Context, entries []indexEntry, st State, keep func(Message, map[string]types.AttributeValue) bool, limit int) ([]Message, error) {
	var out []Message
	for len(entries) > 0 && (limit <= 0 || len(out) < limit) {
		n := min(len(entries), batchGetMax)
		if limit > 0 {
			n = min(n, max(limit-len(out), 1))
		}
		keys := make([]string, n)
		for i := range keys {
			keys[i] = entries[i].key
		}
		items, err := s.fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			it, ok := items[k]
			if !ok {
				continue // the index is behind (TTL removal)
			}
			m, err := decodeMessage(it)
			if err != nil {
				return nil, err
			}
			if m.State != st || (keep != nil && !keep(m, it)) {
				continue // the index is behind the item
			}
			out = append(out, m)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		entries = entries[n:]
	}
	return out, nil
}

// indexed reads every message in state st, in acceptance order.
func (s *DynamoStore) indexed(ctx context.Context, st State, f *filter) ([]Message, error) {
	entries, err := s.scan(ctx, st, f)
	if err != nil {
		return nil, err
	}
	out, err := s.messages(ctx, entries, st, nil, 0)
	if err != nil {
		return nil, err
	}
	sortMessages(out)
	return out, nil
}

func sortMessages(out []Message) {
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Accepted.Equal(out[j].Accepted) {
			return out[i].Accepted.Before(out[j].Accepted)
		}
		return out[i].Key < out[j].Key
	})
}

// Due implements Queue: the index is filtered on next_at, then only the
// first limit due messages are read.
func (s *DynamoStore) Due(ctx context.Context, now time.Time, limit int) ([]Message, error) {
	entries, err := s.scan(ctx, StatePending, &filter{expr: "#n <= :now",
		names: map[string]string{"#n": attrNext}, values: map[string]types.AttributeValue{":now": num(now.UnixNano())}})
	if err != nil {
		return nil, err
	}
	out, err := s.messages(ctx, entries, StatePending, func(m Message, _ map[string]types.AttributeValue) bool {
		return !m.NextAttempt.After(now)
	}, limit)
	if err != nil {
		return nil, err
	}
	sortMessages(out)
	return out, nil
}

// Update implements Queue: one write, on the condition that the message
// is still pending. Delivery removes it from StateIndex; a dead letter
// moves to its dead partition.
func (s *DynamoStore) Update(ctx context.Context, m Message) error {
	body, err := encodeBody(m)
	if err != nil {
		return err
	}
	set := []string{"#b = :b", "#s = :s", "#n = :n"}
	var remove []string
	names := map[string]string{"#b": attrBody, "#s": attrState, "#n": attrNext, "#sk": attrStateKey}
	vals := map[string]types.AttributeValue{":b": body, ":s": str(string(m.State)), ":n": num(nanos(m.NextAttempt)),
		":p": str(string(StatePending))}
	switch m.State {
	case StatePending:
		// stays in its pending partition
	case StateDead:
		set = append(set, "#sk = :sk")
		vals[":sk"] = str(stateKey(StateDead, m.Key))
	default:
		remove = append(remove, "#sk")
		if m.State == StateDelivered {
			set = append(set, "#e = :e")
			names["#e"] = attrExpires
			vals[":e"] = num(s.now().Add(s.opt.Retention).Unix())
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	if !strings.Contains(expr, "#sk") {
		delete(names, "#sk")
	}
	c, cancel := s.call(ctx)
	_, err = s.db.UpdateItem(c, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.opt.Table), Key: keyOf(m.Key),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("#s = :p"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	})
	cancel()
	if isConditional(err) {
		cur, gerr := s.Get(ctx, m.Key)
		if gerr != nil {
			return gerr // ErrNotFound among others
		}
		return fmt.Errorf("%w: %s is %s", ErrNotPending, m.Key, cur.State)
	}
	if err != nil {
		return fmt.Errorf("outbox: update: %w", err)
	}
	if m.Kind == KindCancel && m.State == StateDelivered {
		// The national record no longer counts the dispensation. A crash
		// before this leaves the reservation held (refusing more, never
		// accepting too many); Dispense repairs it when the item is full.
		if err := s.release(ctx, m.PrescriptionID, m.Target); err != nil {
			s.opt.Log.Warn("outbox: could not release a reservation", "error", err.Error())
		}
	}
	return nil
}

// List implements Admin: pending, dead, or both ("").
func (s *DynamoStore) List(ctx context.Context, state State) ([]Message, error) {
	switch state {
	case StatePending, StateDead:
		return s.indexed(ctx, state, nil)
	case "":
		p, err := s.indexed(ctx, StatePending, nil)
		if err != nil {
			return nil, err
		}
		d, err := s.indexed(ctx, StateDead, nil)
		if err != nil {
			return nil, err
		}
		out := append(p, d...)
		sortMessages(out)
		return out, nil
	}
	return nil, ErrNotIndexed
}

// OldestPending is the age of the oldest pending message at now (0: none),
// the metric the outbox-oldest-pending alarm watches: the first entries of
// each pending partition, checked against their items, without reading
// the backlog.
func (s *DynamoStore) OldestPending(ctx context.Context, now time.Time) (time.Duration, error) {
	var oldest time.Duration
	for shard := range StateShards {
		var start map[string]types.AttributeValue
		found := false
		for !found {
			c, cancel := s.call(ctx)
			page, err := s.db.Query(c, &dynamodb.QueryInput{
				TableName: aws.String(s.opt.Table), IndexName: aws.String(StateIndex),
				KeyConditionExpression:    aws.String("#sk = :sk"),
				ExpressionAttributeNames:  map[string]string{"#sk": attrStateKey},
				ExpressionAttributeValues: map[string]types.AttributeValue{":sk": str(string(StatePending) + "#" + strconv.Itoa(shard))},
				ScanIndexForward:          aws.Bool(true), Limit: aws.Int32(10), ExclusiveStartKey: start,
			})
			cancel()
			if err != nil {
				return 0, fmt.Errorf("outbox: query %s: %w", StateIndex, err)
			}
			var entries []indexEntry
			for _, it := range page.Items {
				if id, ok := it[attrID].(*types.AttributeValueMemberS); ok {
					entries = append(entries, indexEntry{key: id.Value})
				}
			}
			// The first entry still pending is the partition's oldest.
			first, err := s.messages(ctx, entries, StatePending, nil, 1)
			if err != nil {
				return 0, err
			}
			if len(first) == 1 {
				found = true
				oldest = max(oldest, now.Sub(first[0].Accepted))
			}
			if len(page.LastEvaluatedKey) == 0 {
				break
			}
			start = page.LastEvaluatedKey
		}
	}
	return oldest, nil
}

// Replay implements Admin: the dead message goes back to pending and to
// the queue.
func (s *DynamoStore) Replay(ctx context.Context, key string) error {
	m, err := s.dead(ctx, key)
	if err != nil {
		return err
	}
	m.State, m.Attempts, m.NextAttempt, m.LastError = StatePending, 0, time.Time{}, ""
	if err := s.leaveDead(ctx, m, "#sk = :sk, #q = :f, #since = :since, #n = :n REMOVE #e",
		map[string]string{"#sk": attrStateKey, "#q": attrQueued, "#since": attrSince, "#n": attrNext, "#e": attrExpires},
		map[string]types.AttributeValue{":sk": str(stateKey(StatePending, key)), ":f": boolean(false),
			":since": num(s.now().UnixNano()), ":n": num(0)}); err != nil {
		return err
	}
	if err := s.enqueue(ctx, key); err != nil {
		s.opt.Log.Warn("outbox: replayed but not queued; the sweeper will queue it", "error", err.Error())
	}
	return nil
}

// Resolve implements Admin.
func (s *DynamoStore) Resolve(ctx context.Context, key, note string) error {
	m, err := s.dead(ctx, key)
	if err != nil {
		return err
	}
	m.State, m.LastError = StateResolved, "resolved by an operator: "+note+" (was: "+m.LastError+")"
	if err := s.leaveDead(ctx, m, "REMOVE #sk", map[string]string{"#sk": attrStateKey}, nil); err != nil {
		return err
	}
	if m.Kind == KindDispense {
		if err := s.release(ctx, m.PrescriptionID, key); err != nil {
			s.opt.Log.Warn("outbox: could not release a resolved reservation", "error", err.Error())
		}
	}
	return nil
}

// dead reads a message an operator acts on: it must be dead.
func (s *DynamoStore) dead(ctx context.Context, key string) (Message, error) {
	m, err := s.Get(ctx, key)
	if err != nil {
		return m, err
	}
	if m.State != StateDead {
		return m, fmt.Errorf("%w: %s is %s", ErrNotDead, key, m.State)
	}
	return m, nil
}

// leaveDead stores m (changed from dead) on the condition that the item
// is still dead, with extra update clauses (", SET-clauses" or
// "REMOVE ...").
func (s *DynamoStore) leaveDead(ctx context.Context, m Message, extra string, names map[string]string, vals map[string]types.AttributeValue) error {
	body, err := encodeBody(m)
	if err != nil {
		return err
	}
	expr := "SET #b = :b, #s = :n"
	if strings.HasPrefix(extra, "REMOVE") {
		expr += " " + extra
	} else if extra != "" {
		expr += ", " + extra
	}
	n := map[string]string{"#b": attrBody, "#s": attrState}
	maps.Copy(n, names)
	v := map[string]types.AttributeValue{":b": body, ":n": str(string(m.State)), ":d": str(string(StateDead))}
	maps.Copy(v, vals)
	c, cancel := s.call(ctx)
	_, err = s.db.UpdateItem(c, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.opt.Table), Key: keyOf(m.Key),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("#s = :d"),
		ExpressionAttributeNames: n, ExpressionAttributeValues: v,
	})
	cancel()
	if isConditional(err) {
		return fmt.Errorf("outbox: %s changed during the operator's action", m.Key)
	}
	if err != nil {
		return fmt.Errorf("outbox: %s: %w", m.State, err)
	}
	return nil
}

// Requeue is the sweeper: it sends every pending message that was never
// queued (its SQS send failed after the durable write) and became pending
// more than the grace period ago, or whose next attempt is overdue by
// Overdue (its queue message is gone), and returns how many it queued.
// The index is filtered on the projected attributes; each candidate is
// checked against its own item before it is sent. Each sweep first moves
// what the previous layout's index items list into StateIndex
// (migrateLegacy).
func (s *DynamoStore) Requeue(ctx context.Context) (int, error) {
	if err := s.migrateLegacy(ctx); err != nil {
		s.opt.Log.Warn("outbox: moving the previous layout's index into StateIndex", "error", err.Error())
	}
	now := s.now()
	settled, overdue := now.Add(-s.opt.Grace).UnixNano(), now.Add(-s.opt.Overdue).UnixNano()
	entries, err := s.scan(ctx, StatePending, &filter{expr: "#since < :g AND (#q = :f OR #n < :o)",
		names:  map[string]string{"#since": attrSince, "#q": attrQueued, "#n": attrNext},
		values: map[string]types.AttributeValue{":g": num(settled), ":f": boolean(false), ":o": num(overdue)}})
	if err != nil {
		return 0, err
	}
	due, err := s.messages(ctx, entries, StatePending, func(m Message, it map[string]types.AttributeValue) bool {
		q, _ := it[attrQueued].(*types.AttributeValueMemberBOOL)
		queued := q != nil && q.Value
		return numOf(it, attrSince) < settled && (!queued || nanos(m.NextAttempt) < overdue)
	}, 0)
	if err != nil {
		return 0, err
	}
	var (
		mu   sync.Mutex
		n    int
		errs []error
		wg   sync.WaitGroup
		work = make(chan string)
	)
	for range min(sweepWorkers, len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range work {
				err := s.enqueue(ctx, key)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					n++
				}
				mu.Unlock()
			}
		}()
	}
	for _, m := range due {
		work <- m.Key
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		return n, fmt.Errorf("outbox: requeue: %w", errors.Join(errs...))
	}
	return n, nil
}
