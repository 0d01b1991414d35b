package outbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The previous layout kept two aggregate items, reservedPrefix+"pending"
// and reservedPrefix+"dead", listing the keys of the pending and dead
// messages (key → "kind|added nanos|prescription"), and message items
// without state_key. migrateLegacy, run by every sweep, gives those
// messages their StateIndex key and then deletes the aggregate items, so a
// deployment upgrades in place: Terraform adds the index to the table, the
// next sweep moves the backlog into it. Messages not yet moved are still
// delivered from their SQS messages (Deliver reads by key).
func (s *DynamoStore) migrateLegacy(ctx context.Context) error {
	for _, st := range []State{StatePending, StateDead} {
		name := reservedPrefix + string(st)
		entries, version, err := s.readReservations(ctx, name) // the same entries + version shape
		if err != nil || version == 0 {
			return err
		}
		keys := sortedKeys(entries)
		items, err := s.fetch(ctx, keys)
		if err != nil {
			return err
		}
		for _, key := range keys {
			it, ok := items[key]
			if !ok {
				continue
			}
			if _, indexed := it[attrStateKey]; indexed {
				continue
			}
			m, err := decodeMessage(it)
			if err != nil {
				return err
			}
			if m.State != st {
				continue
			}
			_, added, _ := strings.Cut(entries[key], "|")
			added, _, _ = strings.Cut(added, "|")
			since, _ := strconv.ParseInt(added, 10, 64)
			c, cancel := s.call(ctx)
			_, err = s.db.UpdateItem(c, &dynamodb.UpdateItemInput{
				TableName: aws.String(s.opt.Table), Key: keyOf(key),
				UpdateExpression:    aws.String("SET #sk = :sk, #a = :a, #n = :n, #since = :since"),
				ConditionExpression: aws.String("#s = :s AND attribute_not_exists(#sk)"),
				ExpressionAttributeNames: map[string]string{"#sk": attrStateKey, "#a": attrAccepted, "#n": attrNext,
					"#since": attrSince, "#s": attrState},
				ExpressionAttributeValues: map[string]types.AttributeValue{":sk": str(stateKey(st, key)), ":a": num(nanos(m.Accepted)),
					":n": num(nanos(m.NextAttempt)), ":since": num(since), ":s": str(string(st))},
			})
			cancel()
			if err != nil && !isConditional(err) { // conditional: it moved on meanwhile
				return fmt.Errorf("outbox: migrate %s: %w", key, err)
			}
		}
		c, cancel := s.call(ctx)
		_, err = s.db.DeleteItem(c, &dynamodb.DeleteItemInput{TableName: aws.String(s.opt.Table), Key: keyOf(name),
			ConditionExpression:       aws.String("#v = :v"),
			ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(version)}})
		cancel()
		if err != nil && !isConditional(err) {
			return fmt.Errorf("outbox: migrate: delete %s: %w", name, err)
		}
		if isConditional(err) {
			return errors.New("outbox: migrate: the old index changed meanwhile; the next sweep finishes")
		}
	}
	return nil
}
