package node_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/reqlog"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestMetricsAndTraces runs one pharmacist iteration (XCPD, eP list,
// retrieve) against a gateway with telemetry, scrapes its admin endpoint
// and reads the span tree of the XCPD transaction.
func TestMetricsAndTraces(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := telemetry.New(telemetry.Options{Tracer: tp.Tracer(telemetry.TracerName)})
	// With the PKI directory: luxncp's own seal and TLS certificates.
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), func(c *node.Config) { c.PKIDir = testkit.PKIDir(t) },
		func(o *node.Options) { o.Telemetry = tel })
	admin := httptest.NewServer(tel.AdminHandler())
	t.Cleanup(admin.Close)

	ph := newPharmacist(t, "fr", "pharmacist")
	const patient = "1971011007114"
	rep := ph.call(g.url+ehdsi.PathXCPD, ehdsi.ActionXCPD, ncpclient.XCPDBody(ncpclient.XCPDQuery{
		SenderHCID: "2.16.17.710.790.1000.990.1", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: patient, PatientRoot: ehdsi.OIDMatricule}), false, ph.hcp)
	requestID := rep.Header.Get(reqlog.Header)
	trc := ph.trc(patient)
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	rep = ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassEP), false, ph.hcp, trc)
	_, docs, _ := ncpclient.ParseQueryResponse(rep.Env.Body)
	if len(docs) == 0 {
		t.Fatal("no ePrescription listed")
	}
	ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(
		ncpclient.DocRef{HomeCommunityID: docs[0].HomeCommunityID, RepositoryUniqueID: docs[0].RepositoryUniqueID, DocumentUniqueID: docs[0].UniqueID}), false, ph.hcp, trc)

	res, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	for _, series := range []string{
		`luxncp_requests_total{code="none",country="FR",outcome="success",transaction="EHDSI-11"} 1`,
		`luxncp_requests_total{code="none",country="FR",outcome="success",transaction="EHDSI-31"} 1`,
		`luxncp_requests_total{code="none",country="FR",outcome="success",transaction="EHDSI-32"} 1`,
		`luxncp_request_duration_seconds_count{endpoint="XCPD"} 1`,
		`luxncp_step_duration_seconds_count{step="tls"} 3`,
		`luxncp_step_duration_seconds_count{step="parse"} 3`,
		`luxncp_step_duration_seconds_count{step="assertion"} 3`,
		`luxncp_step_duration_seconds_count{step="operation"} 3`,
		`luxncp_step_duration_seconds_count{step="audit"} 3`,
		`luxncp_step_duration_seconds_count{step="national"}`,
		`luxncp_national_call_duration_seconds_count{call="find_patients",result="ok"}`,
		`luxncp_national_breaker_open 0`,
		`luxncp_outbox_pending_messages 0`,
		`luxncp_outbox_oldest_pending_age_seconds 0`,
		`luxncp_certificate_expiry_days{country="FR",owner="partner",role="seal"`,
		`luxncp_certificate_expiry_days{country="FR",owner="partner",role="tls"`,
		`luxncp_certificate_expiry_days{country="LU",owner="self",role="seal"`,
		`luxncp_certificate_expiry_days{country="LU",owner="self",role="tls"`,
		`luxncp_trust_list_entries `,
		`luxncp_trust_list_reload_failing 0`,
		`luxncp_trust_list_reload_failures_total 0`,
		`luxncp_dispatcher_deliveries_total{result="delivered"} 0`,
		`luxncp_dispatcher_deliveries_total{result="retry"} 0`,
		`luxncp_route_duration_seconds_count{result="ok",transaction="ITI-39"} 0`,
		`process_cpu_seconds_total `,
		`process_resident_memory_bytes `,
		`luxncp_process_peak_resident_memory_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, series) {
			t.Errorf("scrape lacks %s", series)
		}
	}

	checkDashboard(t, body)

	// The XCPD trace: one root span with a child per step, the national
	// calls under the operation, each with the request's identifiers.
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	var root sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "XCPD" {
			root = s
		}
	}
	if root == nil {
		t.Fatalf("no XCPD span among %d", len(spans))
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs[telemetry.AttrRequestID] != requestID || !strings.HasPrefix(attrs[telemetry.AttrMessageID], "urn:uuid:") || attrs["ehdsi.transaction"] != "EHDSI-11" {
		t.Errorf("XCPD span attributes %v (request id %s)", attrs, requestID)
	}
	children := func(parent sdktrace.ReadOnlySpan) []string {
		var names []string
		for _, s := range spans {
			if s.Parent().SpanID() == parent.SpanContext().SpanID() && s.SpanContext().TraceID() == parent.SpanContext().TraceID() {
				names = append(names, s.Name())
			}
		}
		return names
	}
	kids := children(root)
	for _, want := range []string{"tls", "parse", "assertion", "operation", "audit"} {
		if !slices.Contains(kids, want) {
			t.Errorf("XCPD span children %v lack %s", kids, want)
		}
	}
	for _, s := range spans {
		if s.Name() != "operation" || s.Parent().SpanID() != root.SpanContext().SpanID() {
			continue
		}
		if k := children(s); !slices.Contains(k, "national") {
			t.Errorf("operation span children %v lack national", k)
		}
		var mid bool
		for _, a := range s.Attributes() {
			mid = mid || string(a.Key) == telemetry.AttrMessageID
		}
		if !mid {
			t.Errorf("operation span lacks %s", telemetry.AttrMessageID)
		}
	}
}

// checkDashboard: every series the Grafana dashboard (docs/grafana) queries
// is one the gateway exported in scrape, and every panel queries one.
func checkDashboard(t *testing.T, scrape string) {
	t.Helper()
	exported := map[string]bool{}
	for _, l := range strings.Split(scrape, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		exported[strings.FieldsFunc(l, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana", "luxncp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title, Type string
			Targets     []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	// A series name: an identifier not followed by "(" (a function) nor
	// inside braces or quotes; PromQL keywords are not series.
	ident := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	keywords := map[string]bool{"sum": true, "by": true, "min": true, "max": true, "rate": true, "histogram_quantile": true, "le": true}
	seen := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			expr := regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(by|without) *\([^)]*\)|"[^"]*"`).ReplaceAllString(tg.Expr, " ")
			names := 0
			for _, loc := range ident.FindAllStringIndex(expr, -1) {
				name := expr[loc[0]:loc[1]]
				if keywords[name] || (loc[1] < len(expr) && expr[loc[1]] == '(') || regexp.MustCompile(`^[0-9.]+$`).MatchString(name) {
					continue
				}
				names++
				seen++
				if !exported[name] {
					t.Errorf("panel %q queries %s, which the gateway does not export", p.Title, name)
				}
			}
			if names == 0 {
				t.Errorf("panel %q: no series found in %q", p.Title, tg.Expr)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d series references found in the dashboard", seen)
	}
}
