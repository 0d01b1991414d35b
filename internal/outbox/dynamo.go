package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
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
}

// SendAPI is the part of the SQS client the DynamoStore uses
// (*sqs.Client satisfies it).
type SendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// DynamoOptions configure a DynamoStore.
type DynamoOptions struct {
	// Table is the outbox table (hash key "id", TTL attribute "expires_at").
	Table string
	// QueueURL is the SQS queue the dispatcher function consumes.
	QueueURL string
	// Retention keeps delivered messages (so a late resubmission is still
	// recognised) before DynamoDB's TTL removes them. Default 400 days.
	Retention time.Duration
	// Timeout bounds each AWS call (default 5 s).
	Timeout time.Duration
	// Grace is how old an index entry must be before a sweep may drop it
	// or re-queue its message, so it never races an Accept or a Replay in
	// progress. Default 1 minute.
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
// conditional put makes Accept idempotent), an SQS message per accepted key
// for the dispatcher function, and two small index items in the same table
// listing the keys of pending and of dead messages.
//
// The table has only its hash key (no secondary index), so the indexes are
// items updated with optimistic locking (a version attribute). They are
// supersets: a key is added before the message changes state and removed
// after, and every read checks each message's own state, so a crash between
// the two writes leaves at most a stale entry, which a later Due drops.
// Because Accept writes the message before it sends the SQS message, a
// failed send leaves a durable pending message with queued=false; Requeue
// (the sweeper) sends it.
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

// ErrContention: an index item kept changing under us.
var ErrContention = errors.New("outbox: index update contention")

// Item attribute names.
const (
	attrID       = "id"
	attrBody     = "body"
	attrState    = "state"
	attrQueued   = "queued"
	attrExpires  = "expires_at"
	attrVersion  = "version"
	attrEntries  = "entries"
	indexPrefix  = "#outbox-index#"
	indexPending = indexPrefix + "pending"
	indexDead    = indexPrefix + "dead"
	// reservationPrefix + a prescription item id is the item holding that
	// prescription item's reservations (entries: key → when reserved).
	reservationPrefix = indexPrefix + "reservation#"
	maxIndexTries     = 25
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

func keyOf(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrID: str(id)}
}

func isConditional(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
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
	if m.Key == "" || strings.HasPrefix(m.Key, indexPrefix) {
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
	if m.State == StatePending {
		if err := s.index(ctx, indexPending, m.Key, entryOf(m, s.now())); err != nil {
			return Message{}, false, fmt.Errorf("outbox: accept: %w", err)
		}
	}
	body, err := encodeBody(m)
	if err != nil {
		return Message{}, false, err
	}
	c, cancel := s.call(ctx)
	_, err = s.db.PutItem(c, &dynamodb.PutItemInput{
		TableName: aws.String(s.opt.Table),
		Item: map[string]types.AttributeValue{
			attrID: str(m.Key), attrBody: body, attrState: str(string(m.State)),
			attrQueued: &types.AttributeValueMemberBOOL{Value: false},
		},
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
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if err != nil {
		return fmt.Errorf("mark queued: %w", err)
	}
	return nil
}

// Dispense implements Ledger: one conditional write (optimistic locking
// on a version attribute) of the prescription item's reservation item, then
// the conditional put of the message. A crash between the two leaves a
// reservation without a message: the resend of the same id finds its own
// reservation and finishes; otherwise, once older than the grace period, it
// is dropped when the item is found full.
func (s *DynamoStore) Dispense(ctx context.Context, m Message, r Reservation) (Message, Verdict, error) {
	if m.Key == "" || strings.HasPrefix(m.Key, indexPrefix) || m.Kind != KindDispense || m.PrescriptionID == "" {
		return Message{}, 0, fmt.Errorf("outbox: invalid dispensation %q", m.Key)
	}
	if v, old, err := s.existing(ctx, m); err != nil || v != 0 {
		return old, v, err
	}
	name := reservationPrefix + m.PrescriptionID
	for repaired := false; ; repaired = true {
		var v Verdict
		var full map[string]string
		err := s.editIndex(ctx, name, func(e map[string]string) bool {
			reserved := make(map[string]bool, len(e))
			for k := range e {
				reserved[k] = true
			}
			v = admit(m, nil, false, reserved, r)
			if v == Exhausted {
				full = maps.Clone(e)
			}
			if v != Accepted || reserved[m.Key] {
				return false
			}
			e[m.Key] = strconv.FormatInt(s.now().UnixNano(), 10)
			return true
		})
		if err != nil {
			return Message{}, 0, fmt.Errorf("outbox: reserve: %w", err)
		}
		if v == Exhausted {
			if !repaired && s.repair(ctx, name, full) {
				continue
			}
			return Message{}, Exhausted, nil
		}
		break
	}
	stored, inserted, err := s.Accept(ctx, m)
	if err != nil {
		return Message{}, 0, err
	}
	if inserted {
		return stored, Accepted, nil
	}
	// A concurrent acceptance of the same id won the put.
	if stored.PrescriptionID != m.PrescriptionID {
		if err := s.unindex(ctx, name, m.Key); err != nil {
			s.opt.Log.Warn("outbox: could not release a lost reservation", "error", err.Error())
		}
	}
	v, old, err := s.existing(ctx, m)
	return old, v, err
}

// existing applies admit to the message already under m.Key, if any (0:
// none).
func (s *DynamoStore) existing(ctx context.Context, m Message) (Verdict, Message, error) {
	old, err := s.Get(ctx, m.Key)
	if errors.Is(err, ErrNotFound) {
		return 0, Message{}, nil
	}
	if err != nil {
		return 0, Message{}, err
	}
	_, cerr := s.Get(ctx, CancelKey(m.Key))
	if cerr != nil && !errors.Is(cerr, ErrNotFound) {
		return 0, Message{}, cerr
	}
	return admit(m, &old, cerr == nil, nil, Reservation{}), old, nil
}

// repair drops the reservations of a full item that no longer hold: no
// message older than the grace period (an acceptance that crashed), a
// discard delivered, a resolved message. It reports whether it dropped any.
func (s *DynamoStore) repair(ctx context.Context, name string, entries map[string]string) bool {
	now := s.now()
	var drop []string
	for _, key := range sortedKeys(entries) {
		n, _ := strconv.ParseInt(entries[key], 10, 64)
		m, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			if now.Sub(time.Unix(0, n)) > s.opt.Grace {
				drop = append(drop, key)
			}
			continue
		case err != nil:
			return false
		}
		c, cerr := s.Get(ctx, CancelKey(key))
		if cerr != nil && !errors.Is(cerr, ErrNotFound) {
			return false
		}
		if !holdsReservation(m, c.State) {
			drop = append(drop, key)
		}
	}
	if len(drop) == 0 {
		return false
	}
	if err := s.unindex(ctx, name, drop...); err != nil {
		s.opt.Log.Warn("outbox: could not drop stale reservations", "error", err.Error())
		return false
	}
	return true
}

// Outstanding counts the pending dispensations of a prescription.
func (s *DynamoStore) Outstanding(ctx context.Context, prescriptionID string) (int, error) {
	entries, _, err := s.readIndex(ctx, indexPending)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, key := range sortedKeys(entries) {
		if e := parseEntry(entries[key]); e.prescription != prescriptionID {
			continue
		}
		m, err := s.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if m.PrescriptionID != prescriptionID || m.State != StatePending {
			continue
		}
		switch m.Kind {
		case KindDispense:
			n++
		case KindCancel:
			n--
		}
	}
	return n, nil
}

// indexed reads the messages an index lists, in acceptance order, dropping
// stale entries older than the grace period (state differs, or no message).
func (s *DynamoStore) indexed(ctx context.Context, name string, state State) ([]Message, error) {
	entries, _, err := s.readIndex(ctx, name)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Message
	var stale []string
	for _, key := range sortedKeys(entries) {
		e := parseEntry(entries[key])
		m, err := s.Get(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err != nil || m.State != state {
			if now.Sub(e.added) > s.opt.Grace {
				stale = append(stale, key)
			}
			continue
		}
		out = append(out, m)
	}
	if len(stale) > 0 {
		if err := s.unindex(ctx, name, stale...); err != nil {
			s.opt.Log.Warn("outbox: could not drop stale index entries", "index", name, "error", err.Error())
		}
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

// Due implements Queue.
func (s *DynamoStore) Due(ctx context.Context, now time.Time, limit int) ([]Message, error) {
	pending, err := s.indexed(ctx, indexPending, StatePending)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, m := range pending {
		if !m.NextAttempt.After(now) {
			out = append(out, m)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Update implements Queue.
func (s *DynamoStore) Update(ctx context.Context, m Message) error {
	if m.State == StateDead {
		if err := s.index(ctx, indexDead, m.Key, entryOf(m, s.now())); err != nil {
			return fmt.Errorf("outbox: update: %w", err)
		}
	}
	body, err := encodeBody(m)
	if err != nil {
		return err
	}
	expr := "SET #b = :b, #s = :s"
	vals := map[string]types.AttributeValue{":b": body, ":s": str(string(m.State))}
	names := map[string]string{"#b": attrBody, "#s": attrState, "#id": attrID}
	if m.State == StateDelivered {
		expr += ", #e = :e"
		names["#e"] = attrExpires
		vals[":e"] = num(s.now().Add(s.opt.Retention).Unix())
	}
	c, cancel := s.call(ctx)
	_, err = s.db.UpdateItem(c, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.opt.Table), Key: keyOf(m.Key),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(#id)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	})
	cancel()
	if isConditional(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("outbox: update: %w", err)
	}
	if m.Kind == KindCancel && m.State == StateDelivered {
		// The national record no longer counts the dispensation. A crash
		// before this leaves the reservation held (refusing more, never
		// accepting too many); Dispense repairs it when the item is full.
		if err := s.unindex(ctx, reservationPrefix+m.PrescriptionID, m.Target); err != nil {
			s.opt.Log.Warn("outbox: could not release a reservation", "error", err.Error())
		}
	}
	if m.State != StatePending {
		if err := s.unindex(ctx, indexPending, m.Key); err != nil {
			// Harmless: a later Due drops the stale entry.
			s.opt.Log.Warn("outbox: could not unindex a settled message", "error", err.Error())
		}
	}
	return nil
}

// List implements Admin: pending, dead, or both ("").
func (s *DynamoStore) List(ctx context.Context, state State) ([]Message, error) {
	switch state {
	case StatePending:
		return s.indexed(ctx, indexPending, StatePending)
	case StateDead:
		return s.indexed(ctx, indexDead, StateDead)
	case "":
		p, err := s.indexed(ctx, indexPending, StatePending)
		if err != nil {
			return nil, err
		}
		d, err := s.indexed(ctx, indexDead, StateDead)
		if err != nil {
			return nil, err
		}
		out := append(p, d...)
		sortMessages(out)
		return out, nil
	}
	return nil, ErrNotIndexed
}

// Replay implements Admin: the dead message goes back to pending and to
// the queue.
func (s *DynamoStore) Replay(ctx context.Context, key string) error {
	m, err := s.dead(ctx, key)
	if err != nil {
		return err
	}
	m.State, m.Attempts, m.NextAttempt, m.LastError = StatePending, 0, time.Time{}, ""
	if err := s.index(ctx, indexPending, key, entryOf(m, s.now())); err != nil {
		return fmt.Errorf("outbox: replay: %w", err)
	}
	if err := s.leaveDead(ctx, m, "#q = :f REMOVE #e", map[string]string{"#q": attrQueued, "#e": attrExpires},
		map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}}); err != nil {
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
	if err := s.leaveDead(ctx, m, "", nil, nil); err != nil {
		return err
	}
	if m.Kind == KindDispense {
		if err := s.unindex(ctx, reservationPrefix+m.PrescriptionID, key); err != nil {
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
// is still dead, with extra update clauses, and drops it from the dead
// index.
func (s *DynamoStore) leaveDead(ctx context.Context, m Message, extra string, names map[string]string, vals map[string]types.AttributeValue) error {
	body, err := encodeBody(m)
	if err != nil {
		return err
	}
	expr := "SET #b = :b, #s = :n"
	if extra != "" {
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
	if err := s.unindex(ctx, indexDead, m.Key); err != nil {
		s.opt.Log.Warn("outbox: could not unindex a message that left the dead letters", "error", err.Error())
	}
	return nil
}

// Requeue is the sweeper: it sends every pending message that was never
// queued (its SQS send failed after the durable put) and is older than the
// grace period, or whose next attempt is overdue by Overdue (its queue
// message is gone), and returns how many it queued.
func (s *DynamoStore) Requeue(ctx context.Context) (int, error) {
	entries, _, err := s.readIndex(ctx, indexPending)
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	var errs []error
	for _, key := range sortedKeys(entries) {
		if now.Sub(parseEntry(entries[key]).added) <= s.opt.Grace {
			continue
		}
		m, item, err := s.get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		overdue := now.Sub(m.NextAttempt) > s.opt.Overdue
		if q, ok := item[attrQueued].(*types.AttributeValueMemberBOOL); m.State != StatePending || (ok && q.Value && !overdue) {
			continue
		}
		if err := s.enqueue(ctx, key); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("outbox: requeue: %w", errors.Join(errs...))
	}
	return n, nil
}

// An index entry records the message's kind and prescription (so
// Outstanding reads only the messages of one prescription) and when it
// was added.
type entry struct {
	kind         Kind
	prescription string
	added        time.Time
}

func entryOf(m Message, now time.Time) string {
	return string(m.Kind) + "|" + strconv.FormatInt(now.UnixNano(), 10) + "|" + m.PrescriptionID
}

func parseEntry(v string) entry {
	kind, rest, _ := strings.Cut(v, "|")
	ns, rx, _ := strings.Cut(rest, "|")
	n, _ := strconv.ParseInt(ns, 10, 64)
	return entry{kind: Kind(kind), prescription: rx, added: time.Unix(0, n)}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readIndex returns an index item's entries and version (0: no item).
func (s *DynamoStore) readIndex(ctx context.Context, name string) (map[string]string, int64, error) {
	c, cancel := s.call(ctx)
	defer cancel()
	out, err := s.db.GetItem(c, &dynamodb.GetItemInput{TableName: aws.String(s.opt.Table), Key: keyOf(name), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: read index: %w", err)
	}
	entries := map[string]string{}
	if len(out.Item) == 0 {
		return entries, 0, nil
	}
	v, ok := out.Item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return nil, 0, errors.New("outbox: index item has no version")
	}
	version, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: index version: %w", err)
	}
	if mv, ok := out.Item[attrEntries].(*types.AttributeValueMemberM); ok {
		for k, av := range mv.Value {
			if sv, ok := av.(*types.AttributeValueMemberS); ok {
				entries[k] = sv.Value
			}
		}
	}
	return entries, version, nil
}

// editIndex applies edit to an index item with optimistic locking; edit
// reports whether it changed anything.
func (s *DynamoStore) editIndex(ctx context.Context, name string, edit func(map[string]string) bool) error {
	for try := 0; try < maxIndexTries; try++ {
		entries, version, err := s.readIndex(ctx, name)
		if err != nil {
			return err
		}
		if !edit(entries) {
			return nil
		}
		m := make(map[string]types.AttributeValue, len(entries))
		for k, v := range entries {
			m[k] = str(v)
		}
		in := &dynamodb.PutItemInput{
			TableName: aws.String(s.opt.Table),
			Item: map[string]types.AttributeValue{attrID: str(name), attrVersion: num(version + 1),
				attrEntries: &types.AttributeValueMemberM{Value: m}},
			ExpressionAttributeNames: map[string]string{"#id": attrID},
		}
		if version == 0 {
			in.ConditionExpression = aws.String("attribute_not_exists(#id)")
		} else {
			in.ConditionExpression = aws.String("#v = :v")
			in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(version)}
		}
		c, cancel := s.call(ctx)
		_, err = s.db.PutItem(c, in)
		cancel()
		if err == nil {
			return nil
		}
		if !isConditional(err) {
			return fmt.Errorf("outbox: write index: %w", err)
		}
		// Someone else changed it: back off a little, with jitter.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(time.Millisecond) << min(try, 6)))):
		}
	}
	return ErrContention
}

func (s *DynamoStore) index(ctx context.Context, name, key, value string) error {
	return s.editIndex(ctx, name, func(e map[string]string) bool {
		if old, ok := e[key]; ok && old == value {
			return false
		}
		e[key] = value // (re)written with a fresh time: a replay is not stale
		return true
	})
}

func (s *DynamoStore) unindex(ctx context.Context, name string, keys ...string) error {
	return s.editIndex(ctx, name, func(e map[string]string) bool {
		changed := false
		for _, k := range keys {
			if _, ok := e[k]; ok {
				delete(e, k)
				changed = true
			}
		}
		return changed
	})
}
