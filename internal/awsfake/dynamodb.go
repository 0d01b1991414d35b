package awsfake

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
)

// DynamoDB is a fake of the DynamoDB JSON 1.0 API over in-memory tables.
// Tables are created with CreateTable (a Go method, not the API call).
// Time to live is not enforced: expired items stay until deleted, as they
// may for up to days in DynamoDB itself.
type DynamoDB struct {
	*server

	mu     sync.Mutex
	tables map[string]*table
}

type table struct {
	hashKey, rangeKey string
	items             map[string]item // by encoded primary key
}

// NewDynamoDB starts a fake DynamoDB. Close it when done.
func NewDynamoDB() *DynamoDB {
	d := &DynamoDB{tables: map[string]*table{}}
	d.server = newServer("DynamoDB_20120810.", "application/x-amz-json-1.0", "com.amazonaws.dynamodb.v20120810#", map[string]handlerFunc{
		"PutItem":    d.putItem,
		"GetItem":    d.getItem,
		"UpdateItem": d.updateItem,
		"DeleteItem": d.deleteItem,
		"Query":      d.query,
	})
	return d
}

// CreateTable creates an empty table keyed by hashKey and, when not empty,
// rangeKey.
func (d *DynamoDB) CreateTable(name, hashKey, rangeKey string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tables[name] = &table{hashKey: hashKey, rangeKey: rangeKey, items: map[string]item{}}
}

// Items returns a copy of every item of a table, in key order (for test
// assertions), as attribute-value JSON.
func (d *DynamoDB) Items(name string) []map[string]json.RawMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tables[name]
	if t == nil {
		return nil
	}
	var out []map[string]json.RawMessage
	for _, k := range slices.Sorted(maps.Keys(t.items)) {
		out = append(out, maps.Clone(t.items[k]))
	}
	return out
}

func (d *DynamoDB) table(name string) (*table, *apiError) {
	t := d.tables[name]
	if t == nil {
		return nil, &apiError{status: 400, code: "ResourceNotFoundException", message: "Requested resource not found: Table: " + name + " not found"}
	}
	return t, nil
}

// key encodes the primary key of it, checking that it has exactly the key
// attributes when exact is set (Key parameters) or at least them (Item).
func (t *table) key(it item, exact bool) (string, *apiError) {
	names := []string{t.hashKey}
	if t.rangeKey != "" {
		names = append(names, t.rangeKey)
	}
	if exact && len(it) != len(names) {
		return "", errValidation("The provided key element does not match the schema")
	}
	parts := make([]json.RawMessage, 0, len(names))
	for _, n := range names {
		v, ok := it[n]
		if !ok {
			return "", errValidation("One of the required keys was not given a value")
		}
		s, ok := scalar(v)
		if !ok {
			return "", errValidation("The provided key element does not match the schema")
		}
		canon, _ := json.Marshal([]string{s.kind, s.s, string(s.b), ratString(s)})
		parts = append(parts, canon)
	}
	b, _ := json.Marshal(parts)
	return string(b), nil
}

func ratString(s scalarAV) string {
	if s.n == nil {
		return ""
	}
	return s.n.RatString()
}

func (t *table) keyOf(it item) item {
	k := item{t.hashKey: it[t.hashKey]}
	if t.rangeKey != "" {
		k[t.rangeKey] = it[t.rangeKey]
	}
	return k
}

type writeRequest struct {
	TableName                 string
	Item                      item
	Key                       item
	ConditionExpression       string
	UpdateExpression          string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]attrValue
	ReturnValues              string
}

func (r *writeRequest) env() *exprEnv {
	return &exprEnv{names: r.ExpressionAttributeNames, values: r.ExpressionAttributeValues}
}

var errConditionalCheck = &apiError{status: 400, code: ConditionalCheckFailed, message: "The conditional request failed"}

// check evaluates the request's condition against the current item.
func (r *writeRequest) check(current item) *apiError {
	if r.ConditionExpression == "" {
		return nil
	}
	ok, aerr := r.env().evalCondition(r.ConditionExpression, current)
	if aerr != nil {
		return aerr
	}
	if !ok {
		return errConditionalCheck
	}
	return nil
}

func returned(mode string, allowed ...string) *apiError {
	if mode == "" || mode == "NONE" || slices.Contains(allowed, mode) {
		return nil
	}
	return errValidation("the fake does not support ReturnValues %s here", mode)
}

func (d *DynamoDB) putItem(_ context.Context, body []byte) (any, *apiError) {
	var req writeRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if aerr := returned(req.ReturnValues, "ALL_OLD"); aerr != nil {
		return nil, aerr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, aerr := d.table(req.TableName)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := t.key(req.Item, false)
	if aerr != nil {
		return nil, aerr
	}
	old := t.items[k]
	if aerr := req.check(old); aerr != nil {
		return nil, aerr
	}
	t.items[k] = maps.Clone(req.Item)
	if req.ReturnValues == "ALL_OLD" && old != nil {
		return map[string]any{"Attributes": old}, nil
	}
	return map[string]any{}, nil
}

func (d *DynamoDB) getItem(_ context.Context, body []byte) (any, *apiError) {
	var req struct {
		TableName string
		Key       item
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, aerr := d.table(req.TableName)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := t.key(req.Key, true)
	if aerr != nil {
		return nil, aerr
	}
	if it, ok := t.items[k]; ok {
		return map[string]any{"Item": it}, nil
	}
	return map[string]any{}, nil
}

func (d *DynamoDB) updateItem(_ context.Context, body []byte) (any, *apiError) {
	var req writeRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if aerr := returned(req.ReturnValues, "ALL_OLD", "ALL_NEW"); aerr != nil {
		return nil, aerr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, aerr := d.table(req.TableName)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := t.key(req.Key, true)
	if aerr != nil {
		return nil, aerr
	}
	old := t.items[k]
	if aerr := req.check(old); aerr != nil {
		return nil, aerr
	}
	next := maps.Clone(old)
	if next == nil {
		next = maps.Clone(req.Key)
	}
	if aerr := req.env().applyUpdate(req.UpdateExpression, next); aerr != nil {
		return nil, aerr
	}
	if nk, aerr := t.key(next, false); aerr != nil || nk != k {
		return nil, errValidation("Cannot update attribute of the primary key")
	}
	t.items[k] = next
	switch req.ReturnValues {
	case "ALL_NEW":
		return map[string]any{"Attributes": next}, nil
	case "ALL_OLD":
		if old != nil {
			return map[string]any{"Attributes": old}, nil
		}
	}
	return map[string]any{}, nil
}

func (d *DynamoDB) deleteItem(_ context.Context, body []byte) (any, *apiError) {
	var req writeRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if aerr := returned(req.ReturnValues, "ALL_OLD"); aerr != nil {
		return nil, aerr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, aerr := d.table(req.TableName)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := t.key(req.Key, true)
	if aerr != nil {
		return nil, aerr
	}
	old := t.items[k]
	if aerr := req.check(old); aerr != nil {
		return nil, aerr
	}
	delete(t.items, k)
	if req.ReturnValues == "ALL_OLD" && old != nil {
		return map[string]any{"Attributes": old}, nil
	}
	return map[string]any{}, nil
}

func (d *DynamoDB) query(_ context.Context, body []byte) (any, *apiError) {
	var req struct {
		TableName                 string
		IndexName                 string
		KeyConditionExpression    string
		FilterExpression          string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]attrValue
		Limit                     int
		ScanIndexForward          *bool
		ExclusiveStartKey         item
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if req.IndexName != "" {
		return nil, errValidation("the fake does not support secondary indexes")
	}
	if req.KeyConditionExpression == "" {
		return nil, errValidation("KeyConditionExpression is required")
	}
	env := &exprEnv{names: req.ExpressionAttributeNames, values: req.ExpressionAttributeValues}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, aerr := d.table(req.TableName)
	if aerr != nil {
		return nil, aerr
	}
	var matched []item
	for _, it := range t.items {
		ok, aerr := env.evalCondition(req.KeyConditionExpression, it)
		if aerr != nil {
			return nil, aerr
		}
		if ok {
			matched = append(matched, it)
		}
	}
	slices.SortFunc(matched, func(a, b item) int {
		if t.rangeKey == "" {
			return 0
		}
		c, _ := compare(a[t.rangeKey], b[t.rangeKey])
		return c
	})
	if req.ScanIndexForward != nil && !*req.ScanIndexForward {
		slices.Reverse(matched)
	}
	if req.ExclusiveStartKey != nil {
		start, aerr := t.key(req.ExclusiveStartKey, true)
		if aerr != nil {
			return nil, aerr
		}
		for i, it := range matched {
			if k, _ := t.key(it, false); k == start {
				matched = matched[i+1:]
				break
			}
		}
	}
	out := map[string]any{}
	if req.Limit > 0 && len(matched) > req.Limit {
		matched = matched[:req.Limit]
		out["LastEvaluatedKey"] = t.keyOf(matched[len(matched)-1])
	}
	items := []item{}
	for _, it := range matched {
		if req.FilterExpression != "" {
			ok, aerr := env.evalCondition(req.FilterExpression, it)
			if aerr != nil {
				return nil, aerr
			}
			if !ok {
				continue
			}
		}
		items = append(items, it)
	}
	out["Items"] = items
	out["Count"] = len(items)
	out["ScannedCount"] = len(matched)
	return out, nil
}
