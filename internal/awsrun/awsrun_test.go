package awsrun

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/luxncp/luxncp/internal/ehdsi"
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
	vars := DefaultVars()
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
