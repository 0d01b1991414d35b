package terraform_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/luxncp/luxncp/internal/node"
)

// emfContract is the CloudWatch Embedded Metric Format contract between
// the functions and the Terraform alarms and dashboard (namespace
// node.MetricNamespace): each metric with the dimension sets it is emitted
// with. An alarm or widget may only use a metric and dimension set listed
// here; a CloudWatch series with other dimensions does not exist.
var emfContract = map[string][][]string{
	"CertificateDaysToExpiry":    {{}, {"Kind"}},
	"OutboxOldestPendingSeconds": {{}},
	"OutboxDeadLetters":          {{}},
	"AuditWriteFailures":         {{}},
	"Requests":                   {{"Function", "Transaction", "Outcome"}, {"Function"}},
	"RequestLatency":             {{"Function", "Transaction"}},
	"StepLatency":                {{"Function", "Step"}},
	"NationalLatency":            {{"Function", "Call"}},
	"DispatcherFailures":         {{"Function"}},
	"MaintenanceFailures":        {{"Function", "Task"}},
}

// inContract reports whether metric with exactly these dimension names is
// in the contract.
func inContract(metric string, dims []string) bool {
	slices.Sort(dims)
	for _, set := range emfContract[metric] {
		s := slices.Clone(set)
		slices.Sort(s)
		if slices.Equal(s, dims) {
			return true
		}
	}
	return false
}

// alarmsLocals evaluates modules/alarms' locals with example inputs.
func alarmsLocals(t *testing.T, c *config) map[string]cty.Value {
	t.Helper()
	fns := map[string]cty.Value{}
	for _, name := range []string{"xcpd", "xca", "xdr", "api", "dispatcher", "maintenance"} {
		fns[name] = cty.StringVal("luxncp-" + name)
	}
	vars := cty.ObjectVal(map[string]cty.Value{
		"name_prefix":              cty.StringVal("luxncp"),
		"region":                   cty.StringVal("eu-central-1"),
		"function_names":           cty.MapVal(fns),
		"queue_name":               cty.StringVal("luxncp-outbox"),
		"dead_letter_queue_name":   cty.StringVal("luxncp-outbox-dlq"),
		"api_id":                   cty.StringVal("a1b2c3"),
		"certificate_warning_days": cty.NumberIntVal(30),
	})
	exprs := map[string]hclsyntax.Expression{}
	for _, b := range c.blocks("modules/alarms", "locals") {
		for name, a := range b.Body.Attributes {
			exprs[name] = a.Expr
		}
	}
	funcs := map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc, "merge": stdlib.MergeFunc, "floor": stdlib.FloorFunc}
	locals := map[string]cty.Value{}
	for pass := 0; len(locals) < len(exprs) && pass < len(exprs); pass++ {
		for name, e := range exprs {
			if _, done := locals[name]; done {
				continue
			}
			v, diags := e.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"var": vars, "local": cty.ObjectVal(locals)}, Functions: funcs})
			if !diags.HasErrors() && v.IsWhollyKnown() {
				locals[name] = v
			}
		}
	}
	for name := range exprs {
		if _, ok := locals[name]; !ok {
			v, diags := exprs[name].Value(&hcl.EvalContext{Variables: map[string]cty.Value{"var": vars, "local": cty.ObjectVal(locals)}, Functions: funcs})
			t.Fatalf("modules/alarms: local.%s does not evaluate with example inputs: %v %s", name, v, diags.Error())
		}
	}
	return locals
}

func TestAlarmsNamespaceIsTheFunctions(t *testing.T) {
	locals := alarmsLocals(t, load(t))
	if got := locals["namespace"]; got != cty.StringVal(node.MetricNamespace) {
		t.Errorf("modules/alarms local.namespace = %#v, want node.MetricNamespace %q", got, node.MetricNamespace)
	}
}

// Every alarm on a custom metric uses a metric and dimension set of the
// contract; the alarms all exist.
func TestAlarmsOnContractMetrics(t *testing.T) {
	c := load(t)
	type alarm struct {
		b       block
		ns, mn  string
		dims    []string
		forEach string
	}
	var alarms []alarm
	for _, a := range c.blocks("modules/alarms", "resource", "aws_cloudwatch_metric_alarm") {
		al := alarm{b: a}
		if e := attr(t, a.Body, "namespace"); e != nil {
			al.ns = c.text(a, e)
		}
		if e := attr(t, a.Body, "metric_name"); e != nil {
			al.mn = value(t, e, nil).AsString()
		}
		if e := attr(t, a.Body, "dimensions"); e != nil {
			o, ok := e.(*hclsyntax.ObjectConsExpr)
			if !ok {
				t.Errorf("%s: dimensions is not an object literal", a)
				continue
			}
			al.dims = sortedKeys(objectItems(o))
		}
		if e := attr(t, a.Body, "for_each"); e != nil {
			al.forEach = c.text(a, e)
		}
		alarms = append(alarms, al)
		if al.ns == "local.namespace" && !inContract(al.mn, al.dims) {
			t.Errorf("%s: %s/%s with dimensions %v is not in the EMF contract", a, node.MetricNamespace, al.mn, al.dims)
		}
		if al.ns != "" && al.ns != "local.namespace" && !strings.HasPrefix(al.ns, `"AWS/`) {
			t.Errorf("%s: namespace %s: use local.namespace for luxncp's own metrics", a, al.ns)
		}
	}
	find := func(ns, metric string) []alarm {
		var out []alarm
		for _, a := range alarms {
			if a.ns == ns && a.mn == metric {
				out = append(out, a)
			}
		}
		return out
	}
	// Per function: errors, throttles, p99 duration relative to the timeout.
	for _, m := range []string{"Errors", "Throttles", "Duration"} {
		as := find(`"AWS/Lambda"`, m)
		if len(as) != 1 || as[0].forEach != "var.function_names" || !slices.Equal(as[0].dims, []string{"FunctionName"}) {
			t.Errorf("want one AWS/Lambda %s alarm per function (for_each = var.function_names, FunctionName), got %d", m, len(as))
		}
	}
	if d := find(`"AWS/Lambda"`, "Duration"); len(d) == 1 {
		if v := literal(t, d[0].b.Body, "extended_statistic"); v != cty.StringVal("p99") {
			t.Errorf("%s: extended_statistic = %#v, want p99", d[0].b, v)
		}
		if th := c.text(d[0].b, attr(t, d[0].b.Body, "threshold")); !strings.Contains(th, "var.function_timeouts_s[each.key]") {
			t.Errorf("%s: threshold %s is not relative to the function's timeout", d[0].b, th)
		}
	}
	for _, m := range []string{"DispatcherFailures", "MaintenanceFailures", "OutboxOldestPendingSeconds", "OutboxDeadLetters", "AuditWriteFailures", "CertificateDaysToExpiry"} {
		if len(find("local.namespace", m)) == 0 {
			t.Errorf("no alarm on %s/%s", node.MetricNamespace, m)
		}
	}
	// One MaintenanceFailures alarm per task the maintenance function runs.
	src, err := os.ReadFile("../functions/maintenance/tasks.go")
	if err != nil {
		t.Fatal(err)
	}
	var tasks []string
	for _, m := range regexp.MustCompile(`(?m)^\s*case "([a-z-]+)":`).FindAllStringSubmatch(string(src), -1) {
		tasks = append(tasks, m[1])
	}
	got := alarmsLocals(t, c)["maintenance_tasks"]
	var have []string
	for _, v := range got.AsValueSlice() {
		have = append(have, v.AsString())
	}
	slices.Sort(tasks)
	slices.Sort(have)
	if len(tasks) == 0 || !slices.Equal(tasks, have) {
		t.Errorf("modules/alarms local.maintenance_tasks = %v, the maintenance function runs %v", have, tasks)
	}
}

var searchExpr = regexp.MustCompile(`SEARCH\('\{([^}]*)\} MetricName="(\w+)"`)

// The dashboard body is valid JSON with metric widgets; every custom
// metric it shows is in the EMF contract with one of its dimension sets,
// and it shows what the issue asks for.
func TestDashboard(t *testing.T) {
	c := load(t)
	if len(c.blocks("modules/alarms", "resource", "aws_cloudwatch_dashboard")) != 1 {
		t.Fatal("modules/alarms: want one aws_cloudwatch_dashboard")
	}
	body := alarmsLocals(t, c)["dashboard_body"]
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			Properties struct {
				Title   string  `json:"title"`
				Region  string  `json:"region"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body.AsString()), &dash); err != nil {
		t.Fatalf("dashboard body is not JSON: %v", err)
	}
	if len(dash.Widgets) < 8 {
		t.Fatalf("dashboard has %d widgets", len(dash.Widgets))
	}
	shown := map[string]bool{} // namespace/metric
	for _, w := range dash.Widgets {
		p := w.Properties
		if w.Type != "metric" || w.Width <= 0 || w.Height <= 0 || p.Title == "" || p.Region == "" || len(p.Metrics) == 0 {
			t.Errorf("widget %q: want a metric widget with size, title, region and metrics", p.Title)
		}
		for _, m := range p.Metrics {
			if len(m) == 0 {
				t.Errorf("widget %q: empty metric", p.Title)
				continue
			}
			if o, ok := m[0].(map[string]any); ok {
				expr, _ := o["expression"].(string)
				s := searchExpr.FindStringSubmatch(expr)
				if s == nil {
					t.Errorf("widget %q: expression %q is not a SEARCH of one metric", p.Title, expr)
					continue
				}
				parts := strings.Split(s[1], ",")
				if parts[0] != node.MetricNamespace || !inContract(s[2], parts[1:]) {
					t.Errorf("widget %q: %s with dimensions %v is not in the EMF contract", p.Title, s[2], parts[1:])
				}
				shown[parts[0]+"/"+s[2]] = true
				continue
			}
			var strs []string
			for _, x := range m {
				if s, ok := x.(string); ok {
					strs = append(strs, s)
				}
			}
			if len(strs) < 2 || len(strs)%2 != 0 {
				t.Errorf("widget %q: metric %v is not [namespace, name, dimension, value, ...]", p.Title, m)
				continue
			}
			shown[strs[0]+"/"+strs[1]] = true
			if strs[0] == node.MetricNamespace {
				var dims []string
				for i := 2; i < len(strs); i += 2 {
					dims = append(dims, strs[i])
				}
				if !inContract(strs[1], dims) {
					t.Errorf("widget %q: %s with dimensions %v is not in the EMF contract", p.Title, strs[1], dims)
				}
			}
		}
	}
	for _, want := range []string{"Requests", "RequestLatency", "StepLatency", "NationalLatency", "OutboxOldestPendingSeconds", "CertificateDaysToExpiry", "DispatcherFailures", "MaintenanceFailures"} {
		if !shown[node.MetricNamespace+"/"+want] {
			t.Errorf("the dashboard does not show %s/%s", node.MetricNamespace, want)
		}
	}
	for _, want := range []string{"AWS/Lambda/Errors", "AWS/Lambda/Throttles", "AWS/Lambda/Duration", "AWS/SQS/ApproximateNumberOfMessagesVisible", "AWS/ApiGateway/5xx"} {
		if !shown[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}

// Every function publishes versions and is invoked only through its alias
// "live", which var.function_versions can pin (rollback).
func TestPublishedVersionsAndAlias(t *testing.T) {
	c := load(t)
	fn := c.blocks("modules/function", "resource", "aws_lambda_function")
	if len(fn) != 1 || literal(t, fn[0].Body, "publish") != cty.True {
		t.Fatal("modules/function: aws_lambda_function must publish = true")
	}
	aliases := c.blocks("modules/function", "resource", "aws_lambda_alias")
	if len(aliases) != 1 || literal(t, aliases[0].Body, "name") != cty.StringVal("live") {
		t.Fatal(`modules/function: want one aws_lambda_alias named "live"`)
	}
	if v := c.text(aliases[0], attr(t, aliases[0].Body, "function_version")); !strings.Contains(v, "var.pinned_version") || !strings.Contains(v, "aws_lambda_function.this.version") {
		t.Errorf("alias function_version = %s: want the newest version unless var.pinned_version", v)
	}
	outputs := map[string]string{}
	for _, o := range c.blocks("modules/function", "output") {
		outputs[o.Labels[0]] = c.text(o, attr(t, o.Body, "value"))
	}
	if outputs["invoke_arn"] != "aws_lambda_alias.live.invoke_arn" || outputs["alias_arn"] != "aws_lambda_alias.live.arn" {
		t.Errorf("modules/function outputs invoke_arn = %s, alias_arn = %s: callers must get the alias", outputs["invoke_arn"], outputs["alias_arn"])
	}
	var mod block
	for _, m := range c.blocks(".", "module") {
		if m.Labels[0] == "function" {
			mod = m
		}
	}
	if got := c.text(mod, attr(t, mod.Body, "pinned_version")); got != `lookup(var.function_versions, each.key, "")` {
		t.Errorf("module.function pinned_version = %q, want lookup(var.function_versions, each.key, \"\")", got)
	}
	// Whatever invokes a function invokes its alias.
	for _, p := range c.blocks("", "resource", "aws_lambda_permission") {
		if attr(t, p.Body, "qualifier") == nil {
			t.Errorf("%s: no qualifier: the permission must be on the alias", p)
		}
	}
	for _, tg := range c.blocks("", "resource", "aws_cloudwatch_event_target") {
		if got := c.text(tg, attr(t, tg.Body, "arn")); !strings.HasSuffix(got, ".alias_arn") {
			t.Errorf("%s: arn = %s, want the function's alias_arn", tg, got)
		}
	}
	for _, esm := range c.blocks("", "resource", "aws_lambda_event_source_mapping") {
		if got := c.text(esm, attr(t, esm.Body, "function_name")); !strings.HasSuffix(got, ".alias_arn") {
			t.Errorf("%s: function_name = %s, want the function's alias_arn", esm, got)
		}
	}
	for _, in := range c.blocks("modules/gateway", "resource", "aws_apigatewayv2_integration") {
		if got := c.text(in, attr(t, in.Body, "integration_uri")); got != "each.value[0].invoke_arn" {
			t.Errorf("%s: integration_uri = %s", in, got)
		}
	}
}
