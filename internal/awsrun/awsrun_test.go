package awsrun

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/testutil"
)

func readTerraform(t *testing.T) *Terraform {
	t.Helper()
	tf, err := ReadTerraform(filepath.Join(testutil.RepoRoot(t), "terraform"))
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

// TestCatalogueIsFunctions: terraform/'s local.functions names exactly the
// functions/<name> commands, so make run-aws starts what make lambda
// builds and terraform deploys.
func TestCatalogueIsFunctions(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(testutil.RepoRoot(t), "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if got := readTerraform(t).Functions(); !slices.Equal(got, dirs) {
		t.Fatalf("local.functions = %v, functions/ = %v", got, dirs)
	}
}

// TestRouter: requests go to the function of the API Gateway route key
// they match (exact paths, ANY with a greedy {proxy+}), others nowhere.
func TestRouter(t *testing.T) {
	routes := readTerraform(t).Routes()
	var keys []string
	for k := range routes {
		keys = append(keys, k)
	}
	for _, tc := range []struct{ method, path, want, proxy string }{
		{"POST", ehdsi.PathXCPD, "xcpd", ""}, {"POST", ehdsi.PathXCPD + "/", "xcpd", ""}, {"GET", ehdsi.PathXCPD, "", ""},
		{"POST", ehdsi.PathXCA, "xca", ""}, {"POST", ehdsi.PathXDR, "xdr", ""},
		{"GET", "/api/v1/countries", "api", "countries"}, {"POST", "/api/v1/countries/FR/patients/search", "api", "countries/FR/patients/search"},
		{"GET", "/api/v1/", "", ""}, {"GET", "/healthz", "api", ""}, {"POST", "/healthz", "", ""}, {"GET", "/", "", ""},
		{"POST", "/openncp-ws-server/services/Other", "", ""},
	} {
		key, proxy, ok := matchRoute(keys, httptest.NewRequest(tc.method, tc.path, nil))
		if got := routes[key]; got != tc.want || ok != (tc.want != "") || proxy != tc.proxy {
			t.Errorf("%s %s: route %q (%s, proxy %q), want %s, proxy %q", tc.method, tc.path, key, got, proxy, tc.want, tc.proxy)
		}
	}
}

// TestEnvironmentNeedsEveryVariable: a variable main.tf's environment
// reads that the deployment does not give fails, naming it.
func TestEnvironmentNeedsEveryVariable(t *testing.T) {
	tf := readTerraform(t)
	names := map[string]string{"audit_bucket": "a", "config_bucket": "c", "seal_key_arn": "k1", "tls_client_key_arn": "k2",
		"outbox_table_name": "o", "queue_url": "q", "idempotency_table_name": "i"}
	vars := tf.Defaults()
	vars["national_fhir_base_url"] = cty.StringVal("http://national/fhir")
	env, err := tf.Environment("xdr", Deployment{Names: names, Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	if env["LUXNCP_FUNCTION"] != "xdr" || env["LUXNCP_OUTBOX_TABLE"] != "o" || env["LUXNCP_SEAL_KMS_KEY"] != "k1" || env["LUXNCP_TLS_CLIENT_KMS_KEY"] != "" {
		t.Errorf("xdr environment: %v", env)
	}
	delete(vars, "national_fhir_base_url")
	if _, err := tf.Environment("xdr", Deployment{Names: names, Vars: vars}); err == nil {
		t.Error("a missing variable evaluated")
	}
}

// deployment is every resource name main.tf's function environment
// references, and the variables variables.tf requires.
func deployment(tf *Terraform) Deployment {
	vars := tf.Defaults()
	vars["national_fhir_base_url"] = cty.StringVal("http://national/fhir")
	vars["identity_issuer_url"] = cty.StringVal("https://idp.example.lu")
	return Deployment{Names: map[string]string{"audit_bucket": "a", "config_bucket": "c", "seal_key_arn": "k1", "tls_client_key_arn": "k2",
		"outbox_table_name": "o", "queue_url": "q", "idempotency_table_name": "i"}, Vars: vars}
}

// TestDefaultsAreVariablesTf: a variable the deployment does not choose
// takes variables.tf's default, so the environment the emulated functions
// get (make run-aws, the all-functions test) is the one terraform/ gives
// them: changing a default in variables.tf changes it.
func TestDefaultsAreVariablesTf(t *testing.T) {
	src := filepath.Join(testutil.RepoRoot(t), "terraform")
	dir := t.TempDir()
	mainTF, err := os.ReadFile(filepath.Join(src, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	varsTF, err := os.ReadFile(filepath.Join(src, "variables.tf"))
	if err != nil {
		t.Fatal(err)
	}
	// Another default for the audit retention and the outbox horizon.
	for _, v := range []string{"audit_retention_days", "outbox_horizon_days"} {
		re := regexp.MustCompile(`(?s)(variable "` + v + `" \{.*?default\s*=\s*)\d+`)
		if !re.Match(varsTF) {
			t.Fatalf("variables.tf: no numeric default of %s", v)
		}
		varsTF = re.ReplaceAll(varsTF, []byte("${1}1234"))
	}
	for name, b := range map[string][]byte{"main.tf": mainTF, "variables.tf": varsTF} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tf, err := ReadTerraform(dir)
	if err != nil {
		t.Fatal(err)
	}
	env, err := tf.Environment("xdr", deployment(tf))
	if err != nil {
		t.Fatal(err)
	}
	if env["LUXNCP_AUDIT_RETENTION"] != "1234" || env["LUXNCP_OUTBOX_HORIZON_DAYS"] != "1234" {
		t.Fatalf("with variables.tf's defaults at 1234: LUXNCP_AUDIT_RETENTION=%q LUXNCP_OUTBOX_HORIZON_DAYS=%q",
			env["LUXNCP_AUDIT_RETENTION"], env["LUXNCP_OUTBOX_HORIZON_DAYS"])
	}
}

// TestEveryEnvironmentVariableIsRead: every variable main.tf gives a
// function is one the function reads (node.ConfigFromEnv and
// node.LoadAWSEnv, what node.FromEnvironment reads). A name renamed or
// misspelt on either side would otherwise leave the function on its local
// fallback (a replay guard in the instance's /tmp, the default horizon)
// with every test still passing.
func TestEveryEnvironmentVariableIsRead(t *testing.T) {
	tf := readTerraform(t)
	dep := deployment(tf)
	for _, fn := range tf.Functions() {
		env, err := tf.Environment(fn, dep)
		if err != nil {
			t.Fatal(err)
		}
		read := map[string]bool{}
		getenv := func(k string) string { read[k] = true; return env[k] }
		if _, err := node.ConfigFromEnv(getenv); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if _, err := node.LoadAWSEnv(getenv); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		for k := range env {
			if !read[k] {
				t.Errorf("terraform/main.tf gives %s %s, which no function reads", fn, k)
			}
		}
	}
}

// TestPayloadLimit: over API Gateway's 10 MB a request never reaches a
// function.
func TestPayloadLimit(t *testing.T) {
	reached := false
	h := payloadLimit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	big := httptest.NewRequest(http.MethodPost, "/api/v1/x", strings.NewReader(strings.Repeat("x", maxRequest+1)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, big)
	if rec.Code != http.StatusRequestEntityTooLarge || reached {
		t.Fatalf("%d bytes: HTTP %d, reached %v", maxRequest+1, rec.Code, reached)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/x", strings.NewReader("{}")))
	if !reached {
		t.Fatal("a small request did not reach the function")
	}
}
