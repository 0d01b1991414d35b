package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/reqlog"
)

// Steps of a transaction, as span names and values of the step label.
const (
	StepTLS       = "tls"
	StepParse     = "parse"
	StepAssertion = "assertion"
	StepOperation = "operation"
	StepNational  = "national"
	StepOutbox    = "outbox"
	StepAudit     = "audit"
	StepEvidence  = "evidence"
)

// Attribute keys of every span (the log keys of internal/reqlog).
const (
	AttrRequestID = reqlog.KeyRequestID
	AttrMessageID = reqlog.KeyMessageID
)

// latencyBuckets: 0.25 ms to 8 s, doubling.
var latencyBuckets = prometheus.ExponentialBuckets(0.00025, 2, 16)

// Telemetry is one process's metrics registry and tracer.
type Telemetry struct {
	// Registry holds every luxncp series and the Go and process collectors.
	Registry *prometheus.Registry
	tracer   trace.Tracer // nil: no spans
	now      func() time.Time
	emf      *emf // nil: no EMF records

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	steps    *prometheus.HistogramVec
	national *prometheus.HistogramVec
	// deliveries and routed: the dispatcher's attempts, Country B's calls.
	deliveries *prometheus.CounterVec
	routed     *prometheus.HistogramVec
}

// Options of New.
type Options struct {
	// Tracer makes spans (nil: metrics only, no span is started).
	Tracer trace.Tracer
	// Now is the clock (nil: the system clock).
	Now func() time.Time
	// EMF, when set, also receives each transaction's metrics as CloudWatch
	// Embedded Metric Format records (on AWS Lambda: stdout), with
	// Function (xcpd, xca, xdr, api, dispatcher) as their Function
	// dimension. The Prometheus registry is fed either way.
	EMF      io.Writer
	Function string
}

// New returns a Telemetry with its metrics registered, the Go runtime and
// process (CPU seconds, resident memory) collectors included.
func New(opt Options) *Telemetry {
	t := &Telemetry{Registry: prometheus.NewRegistry(), tracer: opt.Tracer, now: clock.Or(opt.Now)}
	if opt.EMF != nil {
		t.emf = &emf{w: opt.EMF, function: opt.Function}
	}
	t.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luxncp_requests_total",
		Help: "Country A requests served or refused, by transaction (audit event type), outcome, partner country and eHDSI code.",
	}, []string{"transaction", "outcome", "country", "code"})
	t.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "luxncp_request_duration_seconds", Help: "Country A request latency by endpoint, from admission to the response written.",
		Buckets: latencyBuckets,
	}, []string{"endpoint"})
	t.steps = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "luxncp_step_duration_seconds", Help: "Latency of each step of a transaction (tls, parse, assertion, operation, national, outbox, audit, evidence).",
		Buckets: latencyBuckets,
	}, []string{"step"})
	t.national = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "luxncp_national_call_duration_seconds", Help: "National backend calls by call and result (ok, not_found, conflict, unavailable, error).",
		Buckets: latencyBuckets,
	}, []string{"call", "result"})
	t.Registry.MustRegister(t.requests, t.duration, t.steps, t.national,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), peakRSS{})
	t.registerDispatch()
	return t
}

// Handler serves the registry in the Prometheus text format (/metrics).
func (t *Telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{Registry: t.Registry})
}

// AdminHandler is the admin listener's mux: /metrics and /healthz.
func (t *Telemetry) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", t.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok","service":"luxncp-admin"}` + "\n"))
	})
	return mux
}

func noEnd(error) {}

// ids are the request's identifiers as span attributes.
func ids(ctx context.Context) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 2)
	if id := reqlog.RequestID(ctx); id != "" {
		a = append(a, attribute.String(AttrRequestID, id))
	}
	if id := reqlog.MessageID(ctx); id != "" {
		a = append(a, attribute.String(AttrMessageID, id))
	}
	return a
}

// Step starts one step of a transaction: a child span (when tracing) and a
// latency observation, both ended by the returned function with the step's
// error. A nil Telemetry observes nothing.
func (t *Telemetry) Step(ctx context.Context, step string) (context.Context, func(error)) {
	if t == nil {
		return ctx, noEnd
	}
	return t.step(ctx, step, t.steps.WithLabelValues(step))
}

func (t *Telemetry) step(ctx context.Context, name string, h prometheus.Observer) (context.Context, func(error)) {
	start := t.now()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, name, trace.WithAttributes(ids(ctx)...))
	}
	inv := invocationOf(ctx)
	return ctx, func(err error) {
		d := t.now().Sub(start)
		h.Observe(d.Seconds())
		inv.addStep(name, d)
		if span != nil {
			setStatus(span, err)
			span.End()
		}
	}
}

// setStatus marks a failed span with the public eHDSI code only: a cause
// may hold patient data, which traces never carry.
func setStatus(span trace.Span, err error) {
	if err == nil {
		return
	}
	var f *ehdsi.Fault
	if errors.As(err, &f) {
		span.SetStatus(codes.Error, string(f.Code))
		return
	}
	span.SetStatus(codes.Error, "error")
}

// Begin starts a transaction at endpoint (XCPD, XCA, XDR): the trace's
// root span. The returned function ends it with the audit event as it
// stands when the response leaves (type, outcome, country, code) and ctx
// as it was then (with the wsa:MessageID once read).
func (t *Telemetry) Begin(ctx context.Context, endpoint string) (context.Context, func(context.Context, *audit.Event)) {
	start := t.now()
	ctx = t.startInvocation(ctx)
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, endpoint, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(ids(ctx)...))
	}
	return ctx, func(ctx context.Context, ev *audit.Event) {
		now := t.now()
		elapsed := now.Sub(start)
		t.duration.WithLabelValues(endpoint).Observe(elapsed.Seconds())
		code := ev.ErrorCode
		if code == "" {
			code = "none"
		}
		tx := string(ev.Type)
		if tx == "" {
			tx = endpoint
		}
		country := ev.Consumer.Country
		if country == "" {
			country = "unknown"
		}
		t.requests.WithLabelValues(tx, ev.Outcome.String(), country, code).Inc()
		if t.emf != nil {
			t.writeRequest(ctx, now, tx, country, code, ev, elapsed)
		}
		if span != nil {
			if id := reqlog.MessageID(ctx); id != "" {
				span.SetAttributes(attribute.String(AttrMessageID, id))
			}
			span.SetAttributes(attribute.String("ehdsi.transaction", tx), attribute.String("ehdsi.outcome", ev.Outcome.String()),
				attribute.String("ehdsi.code", code), attribute.String("ehdsi.partner_country", country))
			if ev.ErrorCode != "" {
				span.SetStatus(codes.Error, ev.ErrorCode)
			}
			span.End()
		}
	}
}
