package outbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The reservations of the DynamoDB outbox: one item per prescription item
// (id reservationPrefix + the prescription item id), holding the keys of
// the dispensations that reserved it (key -> when, Unix nanoseconds) and a
// version for optimistic locking. It never holds more keys than the
// prescription item allows (1 + numberOfRepeatsAllowed) plus stale ones
// repair drops, so it stays small whatever the backlog; it carries no
// StateIndex key.

const (
	attrVersion = "version"
	attrEntries = "entries"
	// reservationPrefix + a prescription item id is that item's
	// reservation item.
	reservationPrefix = reservedPrefix + "reservation#"
	maxReserveTries   = 25
)

// ErrContention: a reservation item kept changing under us.
var ErrContention = errors.New("outbox: reservation update contention")

// Dispense implements Ledger: one conditional write (optimistic locking
// on a version attribute) of the prescription item's reservation item, then
// the conditional put of the message. A crash between the two leaves a
// reservation without a message: the resend of the same id finds its own
// reservation and finishes; otherwise, once older than the grace period, it
// is dropped when the item is found full.
func (s *DynamoStore) Dispense(ctx context.Context, m Message, r Reservation) (Message, Verdict, error) {
	if m.Key == "" || strings.HasPrefix(m.Key, reservedPrefix) || m.Kind != KindDispense || m.PrescriptionID == "" {
		return Message{}, 0, fmt.Errorf("outbox: invalid dispensation %q", m.Key)
	}
	if v, old, err := s.existing(ctx, m); err != nil || v != 0 {
		return old, v, err
	}
	name := reservationPrefix + m.PrescriptionID
	for repaired := false; ; repaired = true {
		var v Verdict
		var full map[string]string
		err := s.editReservations(ctx, name, func(e map[string]string) bool {
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
			if !repaired && s.repair(ctx, m.PrescriptionID, full) {
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
		if err := s.release(ctx, m.PrescriptionID, m.Key); err != nil {
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
func (s *DynamoStore) repair(ctx context.Context, prescriptionID string, entries map[string]string) bool {
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
	if err := s.release(ctx, prescriptionID, drop...); err != nil {
		s.opt.Log.Warn("outbox: could not drop stale reservations", "error", err.Error())
		return false
	}
	return true
}

// readReservations returns a reservation item's entries and version (0: no
// item).
func (s *DynamoStore) readReservations(ctx context.Context, name string) (map[string]string, int64, error) {
	c, cancel := s.call(ctx)
	defer cancel()
	out, err := s.db.GetItem(c, &dynamodb.GetItemInput{TableName: aws.String(s.opt.Table), Key: keyOf(name), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: read reservations: %w", err)
	}
	entries := map[string]string{}
	if len(out.Item) == 0 {
		return entries, 0, nil
	}
	v, ok := out.Item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return nil, 0, errors.New("outbox: reservation item has no version")
	}
	version, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: reservation version: %w", err)
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

// editReservations applies edit to a reservation item with optimistic
// locking; edit reports whether it changed anything.
func (s *DynamoStore) editReservations(ctx context.Context, name string, edit func(map[string]string) bool) error {
	for try := 0; try < maxReserveTries; try++ {
		entries, version, err := s.readReservations(ctx, name)
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
			return fmt.Errorf("outbox: write reservations: %w", err)
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

// release drops keys from the reservations of a prescription item.
func (s *DynamoStore) release(ctx context.Context, prescriptionID string, keys ...string) error {
	return s.editReservations(ctx, reservationPrefix+prescriptionID, func(e map[string]string) bool {
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
