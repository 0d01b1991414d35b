package terraform_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// config is every .tf file under terraform/, parsed.
type config struct {
	files map[string]*hclsyntax.Body // by path relative to terraform/
	src   map[string][]byte
}

func load(t *testing.T) *config {
	t.Helper()
	c := &config{files: map[string]*hclsyntax.Body{}, src: map[string][]byte{}}
	p := hclparse.NewParser()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || d.Name() == "stubprovider") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".tf") {
			return nil
		}
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			t.Errorf("%s: %s", path, diags.Error())
			return nil
		}
		c.files[path] = f.Body.(*hclsyntax.Body)
		c.src[path] = f.Bytes
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.files) < 10 {
		t.Fatalf("found only %d .tf files", len(c.files))
	}
	return c
}

// block is a block with the file it sits in.
type block struct {
	file string
	*hclsyntax.Block
}

func (b block) String() string {
	return b.file + ": " + b.Type + " " + strings.Join(b.Labels, ".")
}

// blocks returns the top-level blocks of a type (and first label, when
// given) in files under dir ("" for all).
func (c *config) blocks(dir, typ string, label ...string) []block {
	var out []block
	for _, path := range sortedKeys(c.files) {
		if dir != "" && filepath.Dir(path) != dir {
			continue
		}
		for _, b := range c.files[path].Blocks {
			if b.Type == typ && (len(label) == 0 || (len(b.Labels) > 0 && b.Labels[0] == label[0])) {
				out = append(out, block{path, b})
			}
		}
	}
	return out
}

func (c *config) text(b block, e hclsyntax.Expression) string {
	r := e.Range()
	return string(c.src[b.file][r.Start.Byte:r.End.Byte])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func attr(t *testing.T, b *hclsyntax.Body, name string) hclsyntax.Expression {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		return nil
	}
	return a.Expr
}

func child(b *hclsyntax.Body, typ string) *hclsyntax.Body {
	for _, bl := range b.Blocks {
		if bl.Type == typ {
			return bl.Body
		}
	}
	return nil
}

// value evaluates an expression that needs at most the given variables.
func value(t *testing.T, e hclsyntax.Expression, vars map[string]cty.Value) cty.Value {
	t.Helper()
	if e == nil {
		return cty.NilVal
	}
	v, diags := e.Value(&hcl.EvalContext{Variables: vars})
	if diags.HasErrors() {
		t.Fatalf("evaluate %s: %s", e.Range(), diags.Error())
	}
	return v
}

func literal(t *testing.T, b *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	return value(t, attr(t, b, name), nil)
}

// objectItems lists an object constructor's keys and values.
func objectItems(o *hclsyntax.ObjectConsExpr) map[string]hclsyntax.Expression {
	out := map[string]hclsyntax.Expression{}
	for _, it := range o.Items {
		k := hcl.ExprAsKeyword(it.KeyExpr)
		if k == "" {
			if v, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && v.Type() == cty.String {
				k = v.AsString()
			}
		}
		out[k] = it.ValueExpr
	}
	return out
}

// literalStrings collects the strings of a tuple (or one string);
// references and interpolations come back as "${...}".
func literalStrings(e hclsyntax.Expression) (out []string, ok bool) {
	switch x := e.(type) {
	case *hclsyntax.TupleConsExpr:
		for _, el := range x.Exprs {
			s, ok := literalStrings(el)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	case *hclsyntax.TemplateExpr:
		if v, diags := x.Value(nil); !diags.HasErrors() && v.Type() == cty.String {
			return []string{v.AsString()}, true
		}
		return []string{"${...}"}, true // interpolated: a named resource
	case *hclsyntax.LiteralValueExpr:
		if x.Val.Type() == cty.String {
			return []string{x.Val.AsString()}, true
		}
	case *hclsyntax.ScopeTraversalExpr, *hclsyntax.RelativeTraversalExpr, *hclsyntax.IndexExpr, *hclsyntax.ForExpr:
		return []string{"${...}"}, true // a reference: a named resource
	case *hclsyntax.FunctionCallExpr:
		if x.Name != "concat" {
			return nil, false
		}
		for _, a := range x.Args {
			s, ok := literalStrings(a)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	}
	return nil, false
}

// functionNames is the set of functions to deploy: the directories of
// functions/*/main.go, or the planned list while there are none.
func functionNames(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob("../functions/*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) == 0 {
		t.Log("no functions/*/main.go yet: checking the planned list")
		return []string{"api", "dispatcher", "maintenance", "xca", "xcpd", "xdr"}
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names
}

// rootLocals returns the root module's locals by name.
func rootLocals(t *testing.T, c *config) map[string]hclsyntax.Expression {
	t.Helper()
	out := map[string]hclsyntax.Expression{}
	for _, b := range c.blocks(".", "locals") {
		for name, a := range b.Body.Attributes {
			out[name] = a.Expr
		}
	}
	return out
}

// functionCatalogue is local.functions: function name → its attributes.
func functionCatalogue(t *testing.T, c *config) map[string]map[string]hclsyntax.Expression {
	t.Helper()
	fe, ok := rootLocals(t, c)["functions"].(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatal("root locals have no functions = { ... } object")
	}
	out := map[string]map[string]hclsyntax.Expression{}
	for name, e := range objectItems(fe) {
		o, ok := e.(*hclsyntax.ObjectConsExpr)
		if !ok {
			t.Fatalf("local.functions.%s is not an object", name)
		}
		out[name] = objectItems(o)
	}
	return out
}

func TestEveryFunctionHasLambdaRoleAndLogGroup(t *testing.T) {
	c := load(t)
	cat := functionCatalogue(t, c)
	for _, name := range functionNames(t) {
		if _, ok := cat[name]; !ok {
			t.Errorf("functions/%s has no entry in local.functions (terraform/main.tf)", name)
		}
	}
	if got := len(cat); got < 6 {
		t.Errorf("local.functions has %d entries", got)
	}
	forEachFunctions := func(b block) {
		if e := attr(t, b.Body, "for_each"); e == nil || c.text(b, e) != "local.functions" {
			t.Errorf("%s: want for_each = local.functions", b)
		}
	}
	roles := c.blocks(".", "resource", "aws_iam_role")
	if len(roles) != 1 || roles[0].Labels[1] != "function" {
		t.Fatalf("want one resource aws_iam_role.function in the root module, got %v", roles)
	}
	forEachFunctions(roles[0])
	var mod block
	for _, m := range c.blocks(".", "module") {
		if m.Labels[0] == "function" {
			mod = m
		}
	}
	if mod.Block == nil {
		t.Fatal("no module \"function\"")
	}
	forEachFunctions(mod)
	if got := c.text(mod, attr(t, mod.Body, "role_arn")); got != "aws_iam_role.function[each.key].arn" {
		t.Errorf("module.function role_arn = %s: each function must get its own role", got)
	}
	fns := c.blocks("modules/function", "resource", "aws_lambda_function")
	if len(fns) != 1 {
		t.Fatalf("modules/function: want one aws_lambda_function, got %d", len(fns))
	}
	fn := fns[0].Body
	if v := literal(t, fn, "runtime"); v != cty.StringVal("provided.al2023") {
		t.Errorf("runtime = %#v", v)
	}
	if v := literal(t, fn, "architectures"); !v.Equals(cty.TupleVal([]cty.Value{cty.StringVal("arm64")})).True() {
		t.Errorf("architectures = %#v", v)
	}
	if v := literal(t, fn, "handler"); v != cty.StringVal("bootstrap") {
		t.Errorf("handler = %#v", v)
	}
	if attr(t, fn, "reserved_concurrent_executions") == nil || child(fn, "vpc_config") == nil || child(fn, "logging_config") == nil {
		t.Error("aws_lambda_function lacks reserved_concurrent_executions, vpc_config or logging_config")
	}
	if len(c.blocks("modules/function", "resource", "aws_iam_role_policy")) != 1 || len(c.blocks("modules/function", "resource", "aws_cloudwatch_log_group")) != 1 {
		t.Error("modules/function: want one aws_iam_role_policy and one aws_cloudwatch_log_group")
	}
	// Reserved concurrency where it protects a downstream.
	for _, name := range []string{"xdr", "dispatcher", "maintenance"} {
		if v := value(t, cat[name]["reserved_concurrency"], nil); !v.IsKnown() || v.AsBigFloat().Sign() <= 0 {
			t.Errorf("%s: reserved_concurrency = %#v, want > 0", name, v)
		}
	}
}

// TestMaintenanceSchedulesAreNotThrottled: every EventBridge schedule
// invokes the maintenance function; with less reserved concurrency than
// schedules, two that fire in the same minute (rate(5 minutes) and
// rate(1 hour) rules created by one apply tick together, and
// cron(0 6 * * ? *) meets the sweep) throttle one, and its
// maintenance-throttles alarm (Throttles > 0) pages the on-call for a
// planned collision. A task cannot overlap itself: the function's timeout
// is shorter than the most frequent schedule (5 minutes).
func TestMaintenanceSchedulesAreNotThrottled(t *testing.T) {
	c := load(t)
	cat := functionCatalogue(t, c)
	schedules := 0
	for _, b := range c.blocks(".", "resource", "aws_cloudwatch_event_target") {
		if strings.Contains(c.text(b, attr(t, b.Body, "arn")), `module.function["maintenance"]`) {
			schedules++
		}
	}
	if schedules == 0 {
		t.Fatal("no aws_cloudwatch_event_target invokes the maintenance function")
	}
	if v := value(t, cat["maintenance"]["reserved_concurrency"], nil); !v.IsKnown() || v.LessThan(cty.NumberIntVal(int64(schedules))).True() {
		t.Errorf("maintenance: reserved_concurrency = %#v for %d schedules: one of two schedules firing together is throttled", v, schedules)
	}
	if v := value(t, cat["maintenance"]["timeout_s"], nil); !v.IsKnown() || v.GreaterThanOrEqualTo(cty.NumberIntVal(300)).True() {
		t.Errorf("maintenance: timeout_s = %#v, want under the sweep's 5 minutes (no task overlaps itself)", v)
	}
}

func TestRoutesAndPayloadFormat(t *testing.T) {
	c := load(t)
	locals := rootLocals(t, c)
	ctx := map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{"ihe_base": value(t, locals["ihe_base"], nil)})}
	var routes []string
	for _, f := range functionCatalogue(t, c) {
		for _, r := range value(t, f["routes"], ctx).AsValueSlice() {
			routes = append(routes, r.AsString())
		}
	}
	for _, svc := range []string{"XCPD_Service", "XCA_Service", "XDR_Service"} {
		for _, suffix := range []string{"", "/"} {
			want := "POST /openncp-ws-server/services/" + svc + suffix
			if !slices.Contains(routes, want) {
				t.Errorf("no route %q", want)
			}
		}
	}
	for _, want := range []string{"ANY /api/v1/{proxy+}", "GET /healthz"} {
		if !slices.Contains(routes, want) {
			t.Errorf("no route %q", want)
		}
	}
	integrations := c.blocks("", "resource", "aws_apigatewayv2_integration")
	if len(integrations) == 0 {
		t.Fatal("no aws_apigatewayv2_integration")
	}
	for _, b := range integrations {
		if v := literal(t, b.Body, "payload_format_version"); v != cty.StringVal("2.0") {
			t.Errorf("%s: payload_format_version = %#v, want 2.0", b, v)
		}
		if v := literal(t, b.Body, "integration_type"); v != cty.StringVal("AWS_PROXY") {
			t.Errorf("%s: integration_type = %#v", b, v)
		}
	}
	for _, b := range c.blocks("", "resource", "aws_apigatewayv2_stage") {
		s := child(b.Body, "default_route_settings")
		if s == nil || attr(t, s, "throttling_rate_limit") == nil || attr(t, s, "throttling_burst_limit") == nil {
			t.Errorf("%s: no throttling in default_route_settings", b)
		}
	}
}

func TestMutualTLS(t *testing.T) {
	c := load(t)
	apis := c.blocks("", "resource", "aws_apigatewayv2_api")
	if len(apis) != 1 {
		t.Fatalf("want one HTTP API, got %d", len(apis))
	}
	if v := literal(t, apis[0].Body, "disable_execute_api_endpoint"); v != cty.True {
		t.Error("disable_execute_api_endpoint must be true: the default endpoint has no mutual TLS")
	}
	if v := literal(t, apis[0].Body, "protocol_type"); v != cty.StringVal("HTTP") {
		t.Errorf("protocol_type = %#v", v)
	}
	domains := c.blocks("", "resource", "aws_apigatewayv2_domain_name")
	if len(domains) == 0 {
		t.Fatal("no custom domain")
	}
	for _, d := range domains {
		m := child(d.Body, "mutual_tls_authentication")
		if m == nil || attr(t, m, "truststore_uri") == nil || attr(t, m, "truststore_version") == nil {
			t.Errorf("%s: mutual_tls_authentication with truststore_uri and truststore_version required", d)
		}
		if cfg := child(d.Body, "domain_name_configuration"); cfg == nil || literal(t, cfg, "security_policy") != cty.StringVal("TLS_1_2") {
			t.Errorf("%s: security_policy TLS_1_2 required", d)
		}
	}
	// The truststore is an object in a versioned bucket.
	objs := c.blocks("modules/config_bucket", "resource", "aws_s3_object")
	vers := c.blocks("modules/config_bucket", "resource", "aws_s3_bucket_versioning")
	if len(objs) != 1 || len(vers) != 1 {
		t.Fatal("modules/config_bucket: want the truststore object and bucket versioning")
	}
	if v := literal(t, child(vers[0].Body, "versioning_configuration"), "status"); v != cty.StringVal("Enabled") {
		t.Errorf("config bucket versioning = %#v", v)
	}
}

// iamStatement is an object constructor that has an action list.
type iamStatement struct {
	where     string
	inKey     bool // inside an aws_kms_key policy, where Resource "*" is the key itself
	deny      bool
	actions   []string
	resources []string
}

// actionsUnresolved marks an action list given by reference (checked where
// the referenced list is written).
const actionsUnresolved = "<ref>"

func statements(t *testing.T, c *config) []iamStatement {
	t.Helper()
	var out []iamStatement
	for _, path := range sortedKeys(c.files) {
		for _, b := range c.files[path].Blocks {
			if b.Type == "variable" {
				continue // type constraints, not policies
			}
			inKey := len(b.Labels) > 0 && b.Labels[0] == "aws_kms_key"
			hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
				o, ok := n.(*hclsyntax.ObjectConsExpr)
				if !ok {
					return nil
				}
				items := objectItems(o)
				var actE, resE hclsyntax.Expression
				for _, k := range []string{"Action", "actions", "NotAction"} {
					if e, ok := items[k]; ok {
						actE = e
					}
				}
				for _, k := range []string{"Resource", "resources"} {
					if e, ok := items[k]; ok {
						resE = e
					}
				}
				if actE == nil {
					return nil
				}
				st := iamStatement{where: o.Range().String(), inKey: inKey}
				if e, ok := items["Effect"]; ok {
					if s, ok := literalStrings(e); ok && len(s) == 1 && s[0] == "Deny" {
						st.deny = true
					}
				}
				if ref, ok := actE.(*hclsyntax.ScopeTraversalExpr); ok {
					// A whole list by reference: only to the lists checked
					// where they are written (locals *_actions, and the
					// function module's statements from root locals).
					r := ref.Range()
					txt := string(c.src[path][r.Start.Byte:r.End.Byte])
					if !strings.HasSuffix(txt, "_actions") && txt != "s.actions" {
						t.Errorf("%s: actions from %s, which the checks cannot see", r, txt)
					}
					st.actions = []string{actionsUnresolved}
				} else if s, ok := literalStrings(actE); ok {
					st.actions = s
				} else {
					t.Errorf("%s: actions are not a literal list", actE.Range())
				}
				if resE != nil {
					if s, ok := literalStrings(resE); ok {
						st.resources = s
					}
				}
				out = append(out, st)
				return nil
			})
		}
	}
	return out
}

func TestNoWildcardIAMActions(t *testing.T) {
	c := load(t)
	sts := statements(t, c)
	// Action lists given by reference are written as locals named *_actions.
	var all []string
	for _, st := range sts {
		all = append(all, st.actions...)
	}
	for _, path := range sortedKeys(c.files) {
		for _, b := range c.files[path].Blocks {
			if b.Type != "locals" {
				continue
			}
			for name, a := range b.Body.Attributes {
				if strings.HasSuffix(name, "_actions") {
					s, ok := literalStrings(a.Expr)
					if !ok {
						t.Errorf("%s: local.%s is not a literal list", path, name)
					}
					all = append(all, s...)
				}
			}
		}
	}
	n := 0
	for _, a := range all {
		if a == actionsUnresolved {
			continue
		}
		n++
		if strings.Contains(a, "*") || !isAction(a) {
			t.Errorf("IAM action %q: every action must be named, without wildcards", a)
		}
	}
	if n < 40 {
		t.Errorf("found only %d IAM actions: is the walker still finding the policies?", n)
	}
}

func isAction(s string) bool {
	svc, op, ok := strings.Cut(s, ":")
	return ok && svc != "" && op != "" && strings.ToLower(svc) == svc && !strings.ContainsAny(op, ": ") && op[0] >= 'A' && op[0] <= 'Z'
}

// Resource "*" only where the action has no resource-level permissions,
// in key policies (where it means the key) and in Deny statements.
func TestResourcesNamed(t *testing.T) {
	c := load(t)
	noResourceLevel := []string{"ec2:DescribeNetworkInterfaces"}
	checked := 0
	for _, st := range statements(t, c) {
		if st.deny || st.inKey {
			continue
		}
		checked++
		if len(st.resources) == 0 && !slices.Contains(st.actions, "sts:AssumeRole") {
			t.Errorf("%s: statement without resources", st.where)
		}
		if slices.Contains(st.resources, "*") {
			for _, a := range st.actions {
				if !slices.Contains(noResourceLevel, a) {
					t.Errorf("%s: Resource \"*\" with %s", st.where, a)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d statements", checked)
	}
}

// TestSigningKeys: the seal key (RSA_2048) and the TLS client key
// (ECC_NIST_P256) are SIGN_VERIFY keys whose policies let only the roles
// of the functions that need them sign: the signing functions for the
// seal, the outbound mutual TLS functions for the TLS client key.
func TestSigningKeys(t *testing.T) {
	c := load(t)
	keys := map[string]block{}
	for _, b := range c.blocks("modules/keys", "resource", "aws_kms_key") {
		if literal(t, b.Body, "key_usage") == cty.StringVal("SIGN_VERIFY") {
			keys[b.Labels[1]] = b
		}
	}
	for _, k := range []struct {
		name, spec, principal, roles, rolesExpr, flag string
	}{
		{"seal", "RSA_2048", "{ AWS = var.signer_role_arn }", "signer_role_arn", "[for name in local.signing_functions : aws_iam_role.function[name].arn]", "signs"},
		{"tls_client", "ECC_NIST_P256", "{ AWS = var.tls_client_role_arn }", "tls_client_role_arn", "[for name, f in local.functions : aws_iam_role.function[name].arn if f.outbound_tls]", "outbound_tls"},
	} {
		key, ok := keys[k.name]
		if !ok {
			t.Errorf("no SIGN_VERIFY KMS key %q", k.name)
			continue
		}
		if v := literal(t, key.Body, "customer_master_key_spec"); v != cty.StringVal(k.spec) {
			t.Errorf("%s key spec = %#v, want %s", k.name, v, k.spec)
		}
		// Only the statement whose principals are the key's roles may sign.
		signers := 0
		hclsyntax.VisitAll(key.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			o, ok := n.(*hclsyntax.ObjectConsExpr)
			if !ok {
				return nil
			}
			items := objectItems(o)
			acts, ok := literalStrings(items["Action"])
			if !ok || !slices.Contains(acts, "kms:Sign") {
				return nil
			}
			signers++
			if p := c.text(key, items["Principal"]); p != k.principal {
				t.Errorf("%s: kms:Sign granted to %s, want only %s", k.name, p, k.principal)
			}
			return nil
		})
		if signers != 1 {
			t.Errorf("%s: %d statements grant kms:Sign, want 1", k.name, signers)
		}
		for _, m := range c.blocks(".", "module") {
			if m.Labels[0] == "keys" {
				if got := c.text(m, attr(t, m.Body, k.roles)); got != k.rolesExpr {
					t.Errorf("keys.%s = %s", k.roles, got)
				}
			}
		}
		using := 0
		for name, f := range functionCatalogue(t, c) {
			if value(t, f[k.flag], nil) == cty.True {
				using++
				t.Logf("signs with the %s key: %s", k.name, name)
			}
		}
		if using == 0 || using >= len(functionCatalogue(t, c)) {
			t.Errorf("%d functions use the %s key: only some functions may sign", using, k.name)
		}
	}
}

func TestAuditBucket(t *testing.T) {
	c := load(t)
	const dir = "modules/audit_bucket"
	// The audit bucket and its cross-region replica are both the Object
	// Lock bucket of ./locked: COMPLIANCE for var.retention_days,
	// versioning, SSE-KMS; the replica through the aws.replica provider.
	const locked = dir + "/locked"
	bucket := named(c.blocks(locked, "resource", "aws_s3_bucket"), "this")
	if bucket.Block == nil || literal(t, bucket.Body, "object_lock_enabled") != cty.True {
		t.Fatalf("%s: aws_s3_bucket.this must set object_lock_enabled = true", locked)
	}
	lock := named(c.blocks(locked, "resource", "aws_s3_bucket_object_lock_configuration"), "this")
	if lock.Block == nil {
		t.Fatal("no object lock configuration")
	}
	ret := child(child(lock.Body, "rule"), "default_retention")
	if literal(t, ret, "mode") != cty.StringVal("COMPLIANCE") || c.text(lock, attr(t, ret, "days")) != "var.retention_days" {
		t.Error("object lock must be COMPLIANCE with days = var.retention_days")
	}
	vers := named(c.blocks(locked, "resource", "aws_s3_bucket_versioning"), "this")
	if vers.Block == nil || literal(t, child(vers.Body, "versioning_configuration"), "status") != cty.StringVal("Enabled") {
		t.Error("audit bucket versioning must be Enabled")
	}
	sse := named(c.blocks(locked, "resource", "aws_s3_bucket_server_side_encryption_configuration"), "this")
	if sse.Block == nil || literal(t, child(child(sse.Body, "rule"), "apply_server_side_encryption_by_default"), "sse_algorithm") != cty.StringVal("aws:kms") {
		t.Error("audit bucket must use SSE-KMS")
	}
	calls := map[string]block{}
	for _, m := range c.blocks(dir, "module") {
		calls[m.Labels[0]] = m
	}
	for _, name := range []string{"primary", "replica"} {
		m, ok := calls[name]
		if !ok || literal(t, m.Body, "source") != cty.StringVal("./locked") || c.text(m, attr(t, m.Body, "retention_days")) != "var.retention_days" {
			t.Errorf("%s: want module %q from ./locked with retention_days = var.retention_days", dir, name)
		}
	}
	if p := attr(t, calls["replica"].Body, "providers"); p == nil || !strings.Contains(c.text(calls["replica"], p), "aws = aws.replica") {
		t.Error("module.replica: providers must map aws to aws.replica")
	}
	repl := c.blocks(dir, "resource", "aws_s3_bucket_replication_configuration")
	if len(repl) != 1 {
		t.Fatal("audit bucket: want one replication configuration")
	}
	rr := child(repl[0].Body, "rule")
	if literal(t, rr, "status") != cty.StringVal("Enabled") || literal(t, child(rr, "delete_marker_replication"), "status") != cty.StringVal("Disabled") ||
		c.text(repl[0], attr(t, child(rr, "destination"), "bucket")) != "module.replica[0].bucket_arn" ||
		child(child(rr, "destination"), "encryption_configuration") == nil {
		t.Error("replication: want an enabled rule to module.replica[0], KMS-encrypted, without delete markers")
	}
	// Lifecycle: nothing expires before the Object Lock retention.
	lcs := c.blocks(locked, "resource", "aws_s3_bucket_lifecycle_configuration")
	if len(lcs) != 1 {
		t.Fatalf("%s: want one lifecycle configuration", locked)
	}
	hclsyntax.VisitAll(lcs[0].Body, func(n hclsyntax.Node) hcl.Diagnostics {
		b, ok := n.(*hclsyntax.Block)
		if ok && b.Type == "dynamic" && b.Labels[0] == "expiration" {
			fe := c.text(lcs[0], attr(t, b.Body, "for_each"))
			if !strings.Contains(fe, "[var.retention_days]") || c.text(lcs[0], attr(t, child(b.Body, "content"), "days")) != "expiration.value" {
				t.Errorf("%s: expiration must be var.retention_days, got for_each = %s", lcs[0], fe)
			}
		}
		if ok && b.Type == "expiration" {
			t.Errorf("%s: a literal expiration block; expire only after the retention (dynamic, var.retention_days)", lcs[0])
		}
		return nil
	})
	logging := c.blocks(dir, "resource", "aws_s3_bucket_logging")
	if len(logging) != 1 || c.text(logging[0], attr(t, logging[0].Body, "bucket")) != "module.primary.bucket_id" || c.text(logging[0], attr(t, logging[0].Body, "target_bucket")) != "aws_s3_bucket.access_logs.id" {
		t.Error("audit bucket: want S3 server access logging into aws_s3_bucket.access_logs")
	}
	// Every bucket in the configuration is encrypted and private.
	for _, b := range c.blocks("", "resource", "aws_s3_bucket") {
		dir := filepath.Dir(b.file)
		name := b.Labels[1]
		if named(c.blocks(dir, "resource", "aws_s3_bucket_server_side_encryption_configuration"), name).Block == nil {
			t.Errorf("%s: bucket without encryption", b)
		}
		pab := named(c.blocks(dir, "resource", "aws_s3_bucket_public_access_block"), name)
		if pab.Block == nil {
			t.Errorf("%s: bucket without public access block", b)
			continue
		}
		for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			if literal(t, pab.Body, a) != cty.True {
				t.Errorf("%s: %s must be true", b, a)
			}
		}
	}
}

// named picks the resource of that name from blocks of one type.
func named(bs []block, name string) block {
	for _, b := range bs {
		if len(b.Labels) == 2 && b.Labels[1] == name {
			return b
		}
	}
	return block{}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	c := load(t)
	groups := c.blocks("", "resource", "aws_cloudwatch_log_group")
	if len(groups) < 2 {
		t.Fatalf("found %d log groups", len(groups))
	}
	for _, g := range groups {
		if attr(t, g.Body, "retention_in_days") == nil || attr(t, g.Body, "kms_key_id") == nil {
			t.Errorf("%s: retention_in_days and kms_key_id required", g)
		}
	}
}

func TestTables(t *testing.T) {
	c := load(t)
	tables := c.blocks("", "resource", "aws_dynamodb_table")
	if len(tables) != 2 {
		t.Fatalf("want the outbox and idempotency tables, got %d", len(tables))
	}
	for _, tb := range tables {
		if literal(t, child(tb.Body, "ttl"), "enabled") != cty.True ||
			literal(t, child(tb.Body, "point_in_time_recovery"), "enabled") != cty.True ||
			literal(t, child(tb.Body, "server_side_encryption"), "enabled") != cty.True {
			t.Errorf("%s: TTL, point-in-time recovery and encryption required", tb)
		}
	}
}

// Every queue is a dead-letter queue or has one; every queue is watched by
// an alarm; the dispatcher reports partial batch failures and the
// visibility timeout exceeds its timeout.
func TestQueues(t *testing.T) {
	c := load(t)
	queues := c.blocks("", "resource", "aws_sqs_queue")
	if len(queues) < 2 {
		t.Fatalf("found %d queues", len(queues))
	}
	dlqs := map[string]bool{}
	for _, q := range queues {
		if e := attr(t, q.Body, "redrive_policy"); e != nil {
			txt := c.text(q, e)
			for _, other := range queues {
				if strings.Contains(txt, "aws_sqs_queue."+other.Labels[1]+".arn") {
					dlqs[other.Labels[1]] = true
				}
			}
			if !strings.Contains(txt, "deadLetterTargetArn") || !strings.Contains(txt, "maxReceiveCount") {
				t.Errorf("%s: redrive_policy lacks deadLetterTargetArn/maxReceiveCount", q)
			}
			timeout := cty.NumberIntVal(60)
			vt := value(t, attr(t, q.Body, "visibility_timeout_seconds"), map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"consumer_timeout_s": timeout})})
			if vt.LessThanOrEqualTo(timeout).True() {
				t.Errorf("%s: visibility timeout %v not above the consumer timeout %v", q, vt.AsBigFloat(), timeout.AsBigFloat())
			}
		}
		if attr(t, q.Body, "kms_master_key_id") == nil {
			t.Errorf("%s: not encrypted with the data key", q)
		}
	}
	for _, q := range queues {
		if attr(t, q.Body, "redrive_policy") == nil && !dlqs[q.Labels[1]] {
			t.Errorf("%s: neither has a dead-letter queue nor is one", q)
		}
	}
	// Each queue's name goes out of modules/outbox into an alarm's QueueName.
	outputs := map[string]string{} // queue resource → output name
	for _, o := range c.blocks("modules/outbox", "output") {
		txt := c.text(o, attr(t, o.Body, "value"))
		for _, q := range queues {
			if txt == "aws_sqs_queue."+q.Labels[1]+".name" {
				outputs[q.Labels[1]] = o.Labels[0]
			}
		}
	}
	var alarmsMod block
	for _, m := range c.blocks(".", "module") {
		if m.Labels[0] == "alarms" {
			alarmsMod = m
		}
	}
	watched := map[string]bool{}
	for _, a := range c.blocks("modules/alarms", "resource", "aws_cloudwatch_metric_alarm") {
		if e := attr(t, a.Body, "dimensions"); e != nil {
			txt := c.text(a, e)
			if v, ok := strings.CutPrefix(txt, "{ QueueName = var."); ok {
				watched[strings.TrimSuffix(v, " }")] = true
			}
		}
	}
	for _, q := range queues {
		out, ok := outputs[q.Labels[1]]
		if !ok {
			t.Errorf("%s: name not exported by modules/outbox", q)
			continue
		}
		found := false
		for name, a := range alarmsMod.Body.Attributes {
			if c.text(alarmsMod, a.Expr) == "module.outbox."+out && watched[name] {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no alarm watches it", q)
		}
	}
	esm := c.blocks("", "resource", "aws_lambda_event_source_mapping")
	if len(esm) != 1 {
		t.Fatalf("want one event source mapping, got %d", len(esm))
	}
	if v := literal(t, esm[0].Body, "function_response_types"); !v.Equals(cty.TupleVal([]cty.Value{cty.StringVal("ReportBatchItemFailures")})).True() {
		t.Errorf("function_response_types = %#v", v)
	}
	if got := c.text(esm[0], attr(t, esm[0].Body, "function_name")); got != `module.function["dispatcher"].alias_arn` {
		t.Errorf("the queue feeds %s, want the dispatcher", got)
	}
}

func TestAlarms(t *testing.T) {
	c := load(t)
	var metrics []string
	for _, a := range c.blocks("modules/alarms", "resource", "aws_cloudwatch_metric_alarm") {
		if e := attr(t, a.Body, "metric_name"); e != nil {
			metrics = append(metrics, value(t, e, nil).AsString())
		}
		hclsyntax.VisitAll(a.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			if b, ok := n.(*hclsyntax.Block); ok && b.Type == "metric" {
				metrics = append(metrics, literal(t, b.Body, "metric_name").AsString())
			}
			return nil
		})
		if attr(t, a.Body, "alarm_actions") == nil {
			t.Errorf("%s: alarm notifies nobody", a)
		}
	}
	for _, want := range []string{"ApproximateNumberOfMessagesVisible", "5xx", "Throttles", "AuditWriteFailures", "CertificateDaysToExpiry"} {
		if !slices.Contains(metrics, want) {
			t.Errorf("no alarm on %s", want)
		}
	}
}

func TestNetwork(t *testing.T) {
	c := load(t)
	const dir = "modules/network"
	for _, typ := range []string{"aws_nat_gateway", "aws_eip", "aws_internet_gateway"} {
		if len(c.blocks(dir, "resource", typ)) == 0 {
			t.Errorf("no %s", typ)
		}
	}
	var locals map[string]hclsyntax.Expression
	for _, b := range c.blocks(dir, "locals") {
		locals = map[string]hclsyntax.Expression{}
		for n, a := range b.Body.Attributes {
			locals[n] = a.Expr
		}
	}
	var eps []string
	for _, k := range []string{"gateway_endpoints", "interface_endpoints"} {
		s, _ := literalStrings(locals[k])
		eps = append(eps, s...)
	}
	for _, want := range []string{"s3", "dynamodb", "kms", "sqs"} {
		if !slices.Contains(eps, want) {
			t.Errorf("no VPC endpoint for %s", want)
		}
	}
	// The TLS client key never leaves KMS (docs/deploy.md): no secret
	// holds a private key.
	if len(c.blocks(".", "resource", "aws_secretsmanager_secret")) != 0 || len(c.blocks(".", "resource", "aws_secretsmanager_secret_version")) != 0 {
		t.Error("a Secrets Manager secret: the TLS client key is in KMS")
	}
	if len(c.blocks("modules/keys", "resource", "aws_kms_key")) != 3 {
		t.Error("modules/keys: want the seal, TLS client and data keys")
	}
}

func TestEverythingDescribed(t *testing.T) {
	c := load(t)
	n := 0
	for _, typ := range []string{"variable", "output"} {
		for _, b := range c.blocks("", typ) {
			n++
			if attr(t, b.Body, "description") == nil {
				t.Errorf("%s: no description", b)
			}
		}
	}
	validated := 0
	for _, b := range c.blocks(".", "variable") {
		if child(b.Body, "validation") != nil {
			validated++
		}
	}
	if n < 50 || validated < 10 {
		t.Errorf("%d variables/outputs, %d root variables validated", n, validated)
	}
}
