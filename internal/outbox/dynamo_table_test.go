package outbox_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/luxncp/luxncp/internal/outbox"
)

// tfTable is what a table definition says, from either side.
type tfTable struct {
	Billing    string
	HashKey    string
	RangeKey   string
	Attributes []string // name:type, sorted
	Indexes    []string // name hash range projection [non-key…], sorted
}

// TestTableInputMatchesTerraform: the table the tests and `make run-aws`
// create (outbox.TableInput) is the one terraform/modules/outbox declares:
// keys, attribute types, billing, the sparse index and its projection.
func TestTableInputMatchesTerraform(t *testing.T) {
	const path = "../../terraform/modules/outbox/main.tf"
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var res *hclsyntax.Block
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" && slices.Equal(b.Labels, []string{"aws_dynamodb_table", "outbox"}) {
			res = b
		}
	}
	if res == nil {
		t.Fatalf("%s: no resource aws_dynamodb_table.outbox", path)
	}
	str := func(body *hclsyntax.Body, name string) string {
		a := body.Attributes[name]
		if a == nil {
			return ""
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() || v.Type() != cty.String {
			t.Fatalf("%s: %s is not a literal string", path, name)
		}
		return v.AsString()
	}
	var hcl tfTable
	hcl.Billing, hcl.HashKey, hcl.RangeKey = str(res.Body, "billing_mode"), str(res.Body, "hash_key"), str(res.Body, "range_key")
	for _, b := range res.Body.Blocks {
		switch b.Type {
		case "attribute":
			hcl.Attributes = append(hcl.Attributes, str(b.Body, "name")+":"+str(b.Body, "type"))
		case "global_secondary_index":
			idx := []string{str(b.Body, "name"), str(b.Body, "hash_key"), str(b.Body, "range_key"), str(b.Body, "projection_type")}
			if a := b.Body.Attributes["non_key_attributes"]; a != nil {
				v, d := a.Expr.Value(nil)
				if d.HasErrors() {
					t.Fatal(d.Error())
				}
				var keys []string
				for _, e := range v.AsValueSlice() {
					keys = append(keys, e.AsString())
				}
				sort.Strings(keys)
				idx = append(idx, keys...)
			}
			hcl.Indexes = append(hcl.Indexes, strings.Join(idx, " "))
		}
	}

	in := outbox.TableInput("luxncp-outbox")
	var goSide tfTable
	goSide.Billing = string(in.BillingMode)
	for _, k := range in.KeySchema {
		if k.KeyType == "HASH" {
			goSide.HashKey = aws.ToString(k.AttributeName)
		} else {
			goSide.RangeKey = aws.ToString(k.AttributeName)
		}
	}
	for _, a := range in.AttributeDefinitions {
		goSide.Attributes = append(goSide.Attributes, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	for _, g := range in.GlobalSecondaryIndexes {
		idx := []string{aws.ToString(g.IndexName), "", "", string(g.Projection.ProjectionType)}
		for _, k := range g.KeySchema {
			if k.KeyType == "HASH" {
				idx[1] = aws.ToString(k.AttributeName)
			} else {
				idx[2] = aws.ToString(k.AttributeName)
			}
		}
		keys := slices.Clone(g.Projection.NonKeyAttributes)
		sort.Strings(keys)
		goSide.Indexes = append(goSide.Indexes, strings.Join(append(idx, keys...), " "))
	}
	for _, s := range []*tfTable{&hcl, &goSide} {
		sort.Strings(s.Attributes)
		sort.Strings(s.Indexes)
	}
	if len(goSide.Indexes) == 0 || goSide.Indexes[0] != outbox.StateIndex+" state_key accepted_at INCLUDE next_at queued since" {
		t.Errorf("TableInput's index = %q", goSide.Indexes)
	}
	if !slices.Equal(hcl.Attributes, goSide.Attributes) || !slices.Equal(hcl.Indexes, goSide.Indexes) ||
		hcl.Billing != goSide.Billing || hcl.HashKey != goSide.HashKey || hcl.RangeKey != goSide.RangeKey {
		t.Fatalf("Terraform and TableInput differ:\n terraform  %+v\n TableInput %+v", hcl, goSide)
	}
}
