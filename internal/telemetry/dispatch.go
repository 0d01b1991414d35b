package telemetry

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/reqlog"
	"github.com/luxncp/luxncp/internal/routing"
)

// Span names of the asynchronous and outbound work.
const (
	SpanDelivery = "dispatcher.deliver" // one outbox delivery attempt
	SpanCountryB = "countryb"           // one Country B API request
	SpanRoute    = "route"              // one routed call to a partner NCP
)

var deliveryResults = []string{"delivered", "retry", "dead", "error"}

func (t *Telemetry) registerDispatch() {
	t.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luxncp_dispatcher_deliveries_total",
		Help: "Outbox delivery attempts by result: delivered, retry (failed transiently, stays pending), dead (refused for good or past the horizon), error (the outcome could not be recorded).",
	}, []string{"result"})
	t.routed = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "luxncp_route_duration_seconds", Help: "Country B calls to partner NCPs by transaction and result (ok, or the routing error kind).",
		Buckets: latencyBuckets,
	}, []string{"transaction", "result"})
	for _, r := range deliveryResults {
		t.deliveries.WithLabelValues(r) // every result exported from the start
	}
	for _, tx := range []routing.Transaction{routing.ITI55, routing.ITI38, routing.ITI39, routing.ITI41} {
		t.routed.WithLabelValues(string(tx), "ok") // a dashboard shows 0, not "no data"
	}
	t.Registry.MustRegister(t.deliveries, t.routed)
}

// Delivery implements outbox.DeliveryObserver: a span per delivery attempt
// (its national call a child span) with the accepting request's
// identifiers, a count by result, and on Lambda a DispatcherFailures EMF
// record when the attempt failed.
func (t *Telemetry) Delivery(ctx context.Context, m outbox.Message) (context.Context, func(outbox.State, error)) {
	if m.RequestID != "" {
		ctx = reqlog.WithRequestID(ctx, m.RequestID)
	}
	if m.MessageID != "" {
		ctx = reqlog.WithMessageID(ctx, m.MessageID)
	}
	ctx = t.startInvocation(ctx)
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, SpanDelivery, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
			append(ids(ctx), attribute.String("outbox.kind", string(m.Kind)), attribute.Int("outbox.attempt", m.Attempts+1))...))
	}
	return ctx, func(st outbox.State, err error) {
		result := "retry"
		switch {
		case err != nil:
			result = "error"
		case st == outbox.StateDelivered:
			result = "delivered"
		case st == outbox.StateDead:
			result = "dead"
		}
		t.deliveries.WithLabelValues(result).Inc()
		if t.emf != nil {
			now := t.now()
			idf := emfIDs(ctx)
			if result != "delivered" {
				fields := map[string]any{"result": result}
				for k, v := range idf {
					fields[k] = v
				}
				t.emf.write(now, fields, EMFMetric{Name: MetricDispatcherFailures, Unit: "Count", Value: 1.0, Dimensions: [][]string{{"Function"}}})
			}
			t.emf.flush(now, invocationOf(ctx), idf)
		}
		if span != nil {
			span.SetAttributes(attribute.String("outbox.result", result))
			if result != "delivered" {
				span.SetStatus(codes.Error, result)
			}
			span.End()
		}
	}
}

// Router is what Country B routes its calls through (*routing.Client):
// the directory and breaker states pass through the decorator unobserved.
type Router interface {
	Do(ctx context.Context, call routing.Call) (*routing.Result, error)
	Directory() routing.Directory
	BreakerState(cc string) string
}

// Router observes Country B's calls to partner NCPs: a client span per call
// (country, transaction, wsa:MessageID, attempts, the routing error kind)
// and its latency. A nil Telemetry returns r itself.
func (t *Telemetry) Router(r Router) Router {
	if t == nil {
		return r
	}
	return &router{Router: r, t: t}
}

type router struct {
	Router
	t *Telemetry
}

func (r *router) Do(ctx context.Context, call routing.Call) (*routing.Result, error) {
	start := r.t.now()
	var span trace.Span
	if r.t.tracer != nil {
		a := append(ids(ctx), attribute.String("ehdsi.partner_country", call.Country), attribute.String("ehdsi.transaction", string(call.Transaction)))
		if call.Request.MessageID != "" {
			a = append(a, attribute.String("wsa.message_id", call.Request.MessageID))
		}
		ctx, span = r.t.tracer.Start(ctx, SpanRoute, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(a...))
	}
	res, err := r.Router.Do(ctx, call)
	result := "ok"
	if re, ok := routing.AsError(err); ok {
		result = string(re.Kind)
	} else if err != nil {
		result = "error"
	}
	r.t.routed.WithLabelValues(string(call.Transaction), result).Observe(r.t.now().Sub(start).Seconds())
	if span != nil {
		if res != nil {
			span.SetAttributes(attribute.Int("routing.attempts", res.Attempts))
			if res.MessageID != "" {
				span.SetAttributes(attribute.String("wsa.message_id", res.MessageID)) // the attempt answered
			}
		}
		if err != nil {
			span.SetStatus(codes.Error, result)
		}
		span.End()
	}
	return res, err
}

// Serve wraps Country B's API: a server span per request named SpanCountryB
// with its request id (reqlog.Middleware runs first) and the route pattern.
// A nil Telemetry, or one without a tracer, returns h itself.
func (t *Telemetry) Serve(h http.Handler) http.Handler {
	if t == nil || t.tracer == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := t.tracer.Start(r.Context(), SpanCountryB, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(append(ids(r.Context()), attribute.String("http.method", r.Method))...))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
