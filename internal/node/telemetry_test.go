package node_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/reqlog"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestMetricsAndTraces runs one pharmacist iteration (XCPD, eP list,
// retrieve) against a gateway with telemetry, scrapes its admin endpoint
// and reads the span tree of the XCPD transaction.
func TestMetricsAndTraces(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := telemetry.New(telemetry.Options{Tracer: tp.Tracer(telemetry.TracerName)})
	g := startOpts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, func(o *node.Options) { o.Telemetry = tel })
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
		`process_cpu_seconds_total `,
		`process_resident_memory_bytes `,
		`luxncp_process_peak_resident_memory_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, series) {
			t.Errorf("scrape lacks %s", series)
		}
	}

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
