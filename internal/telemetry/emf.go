package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/reqlog"
)

// MetricNamespace is the CloudWatch namespace of luxncp's metrics.
const MetricNamespace = "luxncp"

// CloudWatch metrics of the Lambda functions (the contract with
// terraform/: alarms and dashboards name them).
const (
	MetricRequests           = "Requests"           // Count; [Function Transaction Outcome], [Function]
	MetricRequestLatency     = "RequestLatency"     // Milliseconds; [Function Transaction]
	MetricStepLatency        = "StepLatency"        // Milliseconds; [Function Step]
	MetricNationalLatency    = "NationalLatency"    // Milliseconds; [Function Call]
	MetricDispatcherFailures = "DispatcherFailures" // Count; [Function]
)

// EMFMetric is one metric of an EMF record: its value (a number, or up to
// 100 numbers CloudWatch aggregates) is the record's member Name, and
// Dimensions are its dimension sets (nil: one empty set, no dimensions).
type EMFMetric struct {
	Name, Unit string
	Value      any // float64 or []float64
	Dimensions [][]string
}

// maxEMFValues is the most values one EMF metric member may carry.
const maxEMFValues = 100

// WriteEMF writes one CloudWatch Embedded Metric Format record — a JSON
// line CloudWatch Logs turns into metrics — in MetricNamespace: a metric
// directive per metric, fields as the record's other members (dimension
// values among them, which must be strings). Keys are sorted: the line is
// deterministic.
func WriteEMF(w io.Writer, now time.Time, fields map[string]any, metrics ...EMFMetric) error {
	rec := make(map[string]any, len(fields)+len(metrics)+1)
	for k, v := range fields {
		rec[k] = v
	}
	directives := make([]any, 0, len(metrics))
	for _, m := range metrics {
		dims := m.Dimensions
		if dims == nil {
			dims = [][]string{{}}
		}
		directives = append(directives, map[string]any{
			"Namespace":  MetricNamespace,
			"Dimensions": dims,
			"Metrics":    []any{map[string]string{"Name": m.Name, "Unit": m.Unit}},
		})
		rec[m.Name] = m.Value
	}
	rec["_aws"] = map[string]any{"Timestamp": now.UnixMilli(), "CloudWatchMetrics": directives}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// emf is the Lambda exporter: the observations of one invocation, written
// as EMF records when it ends.
type emf struct {
	mu       sync.Mutex // one record at a time on w
	w        io.Writer
	function string
}

func (e *emf) write(now time.Time, fields map[string]any, metrics ...EMFMetric) {
	fields["Function"] = e.function
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = WriteEMF(e.w, now, fields, metrics...) // stdout: nothing to do on failure
}

// invocation gathers one request's (or delivery's) step and national
// latencies, in milliseconds, for its EMF records.
type invocation struct {
	mu       sync.Mutex
	steps    map[string][]float64
	national map[string][]float64
}

type invocationKey struct{}

func (t *Telemetry) startInvocation(ctx context.Context) context.Context {
	if t.emf == nil {
		return ctx
	}
	return context.WithValue(ctx, invocationKey{}, &invocation{steps: map[string][]float64{}, national: map[string][]float64{}})
}

func invocationOf(ctx context.Context) *invocation {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	return inv
}

// addStep and addNational record one latency (nil: not gathering).
func (inv *invocation) addStep(step string, d time.Duration) {
	if inv != nil {
		inv.add(inv.steps, step, d)
	}
}

func (inv *invocation) addNational(call string, d time.Duration) {
	if inv != nil {
		inv.add(inv.national, call, d)
	}
}

func (inv *invocation) add(m map[string][]float64, name string, d time.Duration) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(m[name]) < maxEMFValues {
		m[name] = append(m[name], millis(d))
	}
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// emfIDs are the request's identifiers as EMF record members (properties,
// not dimensions: CloudWatch Logs Insights finds a request's records by
// them).
func emfIDs(ctx context.Context) map[string]any {
	ids := map[string]any{}
	if id := reqlog.RequestID(ctx); id != "" {
		ids[AttrRequestID] = id
	}
	if id := reqlog.MessageID(ctx); id != "" {
		ids[AttrMessageID] = id
	}
	return ids
}

// writeRequest writes a Country A request's records: one with Requests and
// RequestLatency (the partner country, eHDSI code, identifiers and every
// step's latency as properties), then its step and national records.
func (t *Telemetry) writeRequest(ctx context.Context, now time.Time, tx, country, code string, ev *audit.Event, elapsed time.Duration) {
	ids := emfIDs(ctx)
	fields := map[string]any{"Transaction": tx, "Outcome": outcome(ev), "country": country, "ehdsi_code": code}
	for k, v := range ids {
		fields[k] = v
	}
	inv := invocationOf(ctx)
	if inv != nil {
		inv.mu.Lock()
		steps := make(map[string]any, len(inv.steps))
		for k, v := range inv.steps {
			steps[k] = value(v)
		}
		inv.mu.Unlock()
		fields["steps_ms"] = steps
	}
	t.emf.write(now, fields,
		EMFMetric{Name: MetricRequests, Unit: "Count", Value: 1.0, Dimensions: [][]string{{"Function", "Transaction", "Outcome"}, {"Function"}}},
		EMFMetric{Name: MetricRequestLatency, Unit: "Milliseconds", Value: millis(elapsed), Dimensions: [][]string{{"Function", "Transaction"}}})
	if inv != nil {
		t.emf.flush(now, inv, ids)
	}
}

// value is one number, or the list of them when the step ran more than
// once (CloudWatch aggregates every value).
func value(vs []float64) any {
	if len(vs) == 1 {
		return vs[0]
	}
	return vs
}

// flush writes the step and national records of inv: one record per step
// and per national call kind (a dimension value is one string, so a record
// cannot carry two steps), each with the request's identifiers.
func (e *emf) flush(now time.Time, inv *invocation, ids map[string]any) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, group := range []struct {
		m         map[string][]float64
		dim, name string
	}{{inv.steps, "Step", MetricStepLatency}, {inv.national, "Call", MetricNationalLatency}} {
		keys := make([]string, 0, len(group.m))
		for k := range group.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fields := map[string]any{group.dim: k}
			for ik, iv := range ids {
				fields[ik] = iv
			}
			e.write(now, fields, EMFMetric{Name: group.name, Unit: "Milliseconds", Value: value(group.m[k]),
				Dimensions: [][]string{{"Function", group.dim}}})
		}
	}
}

// Outcome of a request in the Requests metric: ok (answered with a normal
// response, an application error such as "no match" included), refused
// (a SOAP fault for the partner's request: security, format, consent) or
// fault (a SOAP fault on luxncp's side: the national system, the audit
// trail, an internal error).
func outcome(ev *audit.Event) string {
	switch ev.Outcome {
	case audit.OutcomeSuccess, audit.OutcomeMinorFailure:
		return "ok"
	}
	if receiverCode(ehdsi.Code(ev.ErrorCode)) {
		return "fault"
	}
	return "refused"
}

// receiverCode: the eHDSI codes luxncp answers when its own side failed.
func receiverCode(c ehdsi.Code) bool {
	switch c {
	case ehdsi.ErrGeneric, ehdsi.ErrGenericConnectionNotPossible, ehdsi.ErrORCDServiceNotAvailable,
		ehdsi.ErrPIRegistryNotAvailable, ehdsi.ErrPIInternalError,
		ehdsi.ErrPSRegistryNotAvailable, ehdsi.ErrPSInternalError,
		ehdsi.ErrEPRegistryNotAvailable, ehdsi.ErrEPInternalError,
		ehdsi.ErrEDRegistryNotAvailable, ehdsi.ErrEDInternalError, ehdsi.ErrEDNotStored:
		return true
	}
	return false
}
