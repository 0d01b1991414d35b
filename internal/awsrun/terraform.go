package awsrun

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Terraform is terraform/main.tf and variables.tf, read once: the function
// catalogue (local.functions), the environment module "function" sets and
// the input variables' defaults.
type Terraform struct {
	env       hclsyntax.Expression
	functions cty.Value
	defaults  map[string]cty.Value
}

// Deployment is what terraform/ would have created and is given: the
// resource attributes main.tf references (Names: audit_bucket,
// config_bucket, seal_key_arn, tls_client_key_arn, outbox_table_name,
// queue_url, idempotency_table_name) and the input variables (Vars).
type Deployment struct {
	Names map[string]string
	Vars  map[string]cty.Value
}

// ReadTerraform parses dir/main.tf and dir/variables.tf (dir: the
// repository's terraform/).
func ReadTerraform(dir string) (*Terraform, error) {
	path := filepath.Join(dir, "main.tf")
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("awsrun: %s: %w", path, diags)
	}
	tf := &Terraform{}
	var functions hclsyntax.Expression
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "module" && len(b.Labels) == 1 && b.Labels[0] == "function" {
			if a, ok := b.Body.Attributes["environment"]; ok {
				tf.env = a.Expr
			}
		}
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes["functions"]; ok {
				functions = a.Expr
			}
		}
	}
	if tf.env == nil || functions == nil {
		return nil, fmt.Errorf("awsrun: %s: module \"function\" environment or local.functions not found", path)
	}
	ihe, err := localString(f.Body.(*hclsyntax.Body), "ihe_base")
	if err != nil {
		return nil, fmt.Errorf("awsrun: %s: %w", path, err)
	}
	all, diags := functions.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{"ihe_base": cty.StringVal(ihe)})}})
	if diags.HasErrors() {
		return nil, fmt.Errorf("awsrun: %s local.functions: %w", path, diags)
	}
	tf.functions = all
	if tf.defaults, err = readDefaults(filepath.Join(dir, "variables.tf")); err != nil {
		return nil, err
	}
	return tf, nil
}

// readDefaults is the default of every variable of path that has one.
func readDefaults(path string) (map[string]cty.Value, error) {
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("awsrun: %s: %w", path, diags)
	}
	out := map[string]cty.Value{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 {
			continue
		}
		if a, ok := b.Body.Attributes["default"]; ok {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				return nil, fmt.Errorf("awsrun: %s: variable %q default: %w", path, b.Labels[0], diags)
			}
			out[b.Labels[0]] = v
		}
	}
	return out, nil
}

// Defaults are the input variables as terraform/variables.tf defaults
// them, plus a local choice for those it requires but a local run need
// not: identity_issuer_url (empty: the api function refuses bearer
// tokens). Options.Vars give the rest (national_fhir_base_url, …).
func (tf *Terraform) Defaults() map[string]cty.Value {
	out := map[string]cty.Value{"identity_issuer_url": cty.StringVal("")}
	maps.Copy(out, tf.defaults)
	return out
}

func localString(body *hclsyntax.Body, name string) (string, error) {
	for _, b := range body.Blocks {
		if a, ok := b.Body.Attributes[name]; ok && b.Type == "locals" {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || v.Type() != cty.String {
				return "", fmt.Errorf("local.%s is not a constant string", name)
			}
			return v.AsString(), nil
		}
	}
	return "", fmt.Errorf("local.%s not found", name)
}

// Functions are the names in local.functions (one per functions/<name>).
func (tf *Terraform) Functions() []string {
	var out []string
	for k := range tf.functions.AsValueMap() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Timeout is the function's timeout_s in local.functions (0: none).
func (tf *Terraform) Timeout(fn string) time.Duration {
	if !tf.functions.Type().HasAttribute(fn) || !tf.functions.GetAttr(fn).Type().HasAttribute("timeout_s") {
		return 0
	}
	n, _ := tf.functions.GetAttr(fn).GetAttr("timeout_s").AsBigFloat().Int64()
	return time.Duration(n) * time.Second
}

// Routes maps each API Gateway route key of local.functions ("POST
// /openncp-ws-server/services/XCPD_Service", "ANY /api/v1/{proxy+}") to
// its function, as module "gateway" receives them.
func (tf *Terraform) Routes() map[string]string {
	out := map[string]string{}
	for fn, f := range tf.functions.AsValueMap() {
		for _, r := range f.GetAttr("routes").AsValueSlice() {
			out[r.AsString()] = fn
		}
	}
	return out
}

// Environment evaluates the environment main.tf gives function fn (with
// each.key = fn, each.value = local.functions[fn]) against dep, dropping
// empty values as modules/function does. A variable or resource main.tf
// adds that dep does not provide fails the evaluation: the two cannot
// drift.
func (tf *Terraform) Environment(fn string, dep Deployment) (map[string]string, error) {
	if !tf.functions.Type().HasAttribute(fn) {
		return nil, fmt.Errorf("awsrun: no function %q in local.functions", fn)
	}
	obj := func(keys ...string) cty.Value {
		o := map[string]cty.Value{}
		for _, k := range keys {
			if v, ok := dep.Names[k]; ok {
				o[k] = cty.StringVal(v)
			}
		}
		return cty.ObjectVal(o)
	}
	n := func(module, attr string) cty.Value {
		if v, ok := dep.Names[module]; ok {
			return cty.ObjectVal(map[string]cty.Value{attr: cty.StringVal(v)})
		}
		return cty.EmptyObjectVal
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(fn), "value": tf.functions.GetAttr(fn)}),
			"var":  cty.ObjectVal(dep.Vars),
			"module": cty.ObjectVal(map[string]cty.Value{
				"audit_bucket":  n("audit_bucket", "bucket_name"),
				"config_bucket": n("config_bucket", "bucket_name"),
				"keys":          obj("seal_key_arn", "tls_client_key_arn"),
				"outbox":        obj("outbox_table_name", "queue_url", "idempotency_table_name"),
			}),
		},
		Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc, "tostring": toStringFunc()},
	}
	v, diags := tf.env.Value(ctx)
	if diags.HasErrors() {
		return nil, fmt.Errorf("awsrun: terraform/main.tf environment of %s: %w (give the new variable a value in awsrun.Deployment)", fn, diags)
	}
	out := map[string]string{}
	for k, val := range v.AsValueMap() {
		if val.IsNull() || val.Type() != cty.String {
			return nil, errors.New("awsrun: terraform/main.tf environment " + k + " is not a string")
		}
		if s := val.AsString(); s != "" {
			out[k] = s
		}
	}
	return out, nil
}

// toStringFunc is Terraform's tostring for the numbers and strings main.tf
// converts.
func toStringFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType}}, Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v := args[0]
			if v.Type() == cty.Number {
				return cty.StringVal(v.AsBigFloat().Text('f', -1)), nil
			}
			return v, nil
		}})
}
