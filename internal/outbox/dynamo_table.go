package outbox

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StateIndex is the outbox table's sparse global secondary index: hash key
// state_key, sort key accepted_at. Only pending and dead messages carry
// state_key, so the index holds the backlog and the dead letters, nothing
// else.
const StateIndex = "by-state"

// StateShards is how many partitions of StateIndex each state is spread
// over (state_key "pending#0" … "pending#3"): a GSI partition absorbs about
// 1,000 writes a second, and every acceptance, retry and delivery of a
// pending message writes its index entry, so one partition per state would
// be the table's bottleneck during a catch-up after a national outage.
// Four keep each read a handful of Queries. Changing it re-partitions
// every pending and dead message: it is part of the table's contract.
const StateShards = 4

// TableInput is the outbox table as terraform/modules/outbox/main.tf
// declares it (a test compares the two), for tests and `make run-aws` to
// create it on an emulator: hash key id, and StateIndex projecting the
// attributes Due and Requeue filter on (next_at, since, queued), not the
// message body, so an index entry stays about a hundred bytes. Billing is
// on demand; Terraform adds TTL (expires_at), point-in-time recovery and
// encryption, which CreateTable does not take.
func TableInput(name string) *dynamodb.CreateTableInput {
	s, n := types.ScalarAttributeTypeS, types.ScalarAttributeTypeN
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrID), AttributeType: s},
			{AttributeName: aws.String(attrStateKey), AttributeType: s},
			{AttributeName: aws.String(attrAccepted), AttributeType: n},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(attrID), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(StateIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrStateKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrAccepted), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude,
				NonKeyAttributes: []string{attrNext, attrSince, attrQueued}},
		}},
	}
}
