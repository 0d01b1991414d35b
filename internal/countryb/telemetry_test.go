package countryb

import (
	"context"
	"encoding/json"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/reqlog"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/testkit"
)

// TestRetrieveSpanTree: one Country B retrieve, served as node.Handler
// serves it (request ids, then the telemetry's server span), is one trace:
// a countryb server span with the request id and, under it, the routed
// ITI-39 call to the partner with the same request id, the partner
// country and the wsa:MessageID sent.
func TestRetrieveSpanTree(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := telemetry.New(telemetry.Options{Tracer: tp.Tracer(telemetry.TracerName)})
	e := newEnvWith(t, map[string]peer.Mode{"BE": peer.ModeNone}, envOptions{config: func(c *Config) {
		c.Router = tel.Router(c.Router.(*routing.Client))
	}})
	e.api = testkit.Server(t, reqlog.Middleware(tel.Serve(e.svc.Handler())))

	prof, _ := peer.Profile("BE")
	pt := prof.Patients[0]
	st, _, b := e.post(t, "/api/v1/countries/BE/patients/search", SearchRequest{Professional: physician(), Identifiers: []Identifier{{Extension: pt.ID}}})
	var sr SearchResponse
	if err := json.Unmarshal(b, &sr); st != 200 || err != nil || len(sr.Patients) != 1 {
		t.Fatalf("search: %d %s", st, b)
	}
	st, _, b = e.post(t, "/api/v1/countries/BE/documents/list", ListRequest{Professional: physician(), Patient: sr.Patients[0].ID, Classes: []string{"PS"}})
	var lr ListResponse
	if err := json.Unmarshal(b, &lr); st != 200 || err != nil || len(lr.Documents) == 0 {
		t.Fatalf("list: %d %s", st, b)
	}
	d := lr.Documents[0]
	st, h, b := e.post(t, "/api/v1/countries/BE/documents/retrieve", RetrieveRequest{Professional: physician(), Patient: sr.Patients[0].ID,
		Document: DocumentRef{ID: d.ID, RepositoryID: d.RepositoryID, HomeCommunityID: d.HomeCommunityID, Class: d.Class}, Format: "original"})
	if st != 200 {
		t.Fatalf("retrieve: %d %.300s", st, b)
	}
	requestID := h.Get(reqlog.Header)
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	attrs := func(s sdktrace.ReadOnlySpan) map[string]string {
		m := map[string]string{}
		for _, a := range s.Attributes() {
			m[string(a.Key)] = a.Value.Emit()
		}
		return m
	}
	spans := rec.Ended()
	var root sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == telemetry.SpanCountryB && attrs(s)[telemetry.AttrRequestID] == requestID {
			root = s
		}
	}
	if root == nil || requestID == "" {
		t.Fatalf("no %s span with request id %q among %d spans", telemetry.SpanCountryB, requestID, len(spans))
	}
	var routed []map[string]string
	for _, s := range spans {
		if s.Parent().SpanID() == root.SpanContext().SpanID() && s.SpanContext().TraceID() == root.SpanContext().TraceID() {
			if s.Name() != telemetry.SpanRoute {
				t.Errorf("unexpected child %s of the retrieve span", s.Name())
				continue
			}
			routed = append(routed, attrs(s))
		}
	}
	if len(routed) != 1 {
		t.Fatalf("retrieve span children: %v, want one routed call", routed)
	}
	a := routed[0]
	if a["ehdsi.transaction"] != string(routing.ITI39) || a["ehdsi.partner_country"] != "BE" || a[telemetry.AttrRequestID] != requestID ||
		len(a["wsa.message_id"]) < len("urn:uuid:") || a["routing.attempts"] != "1" {
		t.Errorf("routed call span attributes %v (request id %s)", a, requestID)
	}
}
