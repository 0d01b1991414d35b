package node_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/reqlog"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// emfUnits are the units the CloudWatch embedded metric format accepts
// (the MetricDatum units of the CloudWatch API).
var emfUnits = map[string]bool{}

func init() {
	for _, u := range strings.Fields(`Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes
		Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second
		Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second
		Terabits/Second Count/Second None`) {
		emfUnits[u] = true
	}
}

var emfNamespace = regexp.MustCompile(`^[a-zA-Z0-9._#:/-]{1,255}$`)

// checkEMF checks one log line against the CloudWatch embedded metric
// format specification: a JSON object whose _aws member holds a Timestamp
// (epoch milliseconds) and CloudWatchMetrics, an array of metric
// directives; each directive has a Namespace, Dimensions (an array of
// dimension sets: arrays of at most 30 keys, each a member of the root
// whose value is a string) and Metrics (at most 100 definitions with a
// Name — a root member holding a number or an array of at most 100
// numbers — and an optional Unit of CloudWatch's list). It returns the
// record.
func checkEMF(t *testing.T, line string) map[string]any {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("EMF line is not a JSON object: %v: %s", err, line)
	}
	meta, ok := rec["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object: %s", line)
	}
	ts, ok := meta["Timestamp"].(float64)
	if !ok || ts != math.Trunc(ts) || math.Abs(ts-float64(clock.Now().UnixMilli())) > float64(time.Hour.Milliseconds()) {
		t.Errorf("_aws.Timestamp %v is not the epoch milliseconds of now: %s", meta["Timestamp"], line)
	}
	directives, ok := meta["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		t.Fatalf("_aws.CloudWatchMetrics is not a non-empty array: %s", line)
	}
	for _, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			t.Fatalf("a metric directive is not an object: %s", line)
		}
		for k := range dir {
			if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
				t.Errorf("metric directive member %q is not in the specification", k)
			}
		}
		if ns, _ := dir["Namespace"].(string); !emfNamespace.MatchString(ns) {
			t.Errorf("Namespace %q", dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			t.Fatalf("Dimensions is not an array: %s", line)
		}
		for _, s := range sets {
			keys, ok := s.([]any)
			if !ok || len(keys) > 30 {
				t.Fatalf("dimension set %v is not an array of at most 30 keys", s)
			}
			for _, k := range keys {
				name, _ := k.(string)
				v, ok := rec[name].(string)
				if !ok || v == "" || len(v) > 1024 || !utf8.ValidString(v) {
					t.Errorf("dimension %v: root member %q is not a non-empty string", k, rec[name])
				}
			}
		}
		metrics, ok := dir["Metrics"].([]any)
		if !ok || len(metrics) == 0 || len(metrics) > 100 {
			t.Fatalf("Metrics is not an array of 1 to 100 definitions: %s", line)
		}
		for _, m := range metrics {
			def, _ := m.(map[string]any)
			name, _ := def["Name"].(string)
			if name == "" || len(name) > 1024 {
				t.Fatalf("metric definition without a Name: %s", line)
			}
			if u, ok := def["Unit"]; ok && !emfUnits[u.(string)] {
				t.Errorf("metric %s: unit %v is not a CloudWatch unit", name, u)
			}
			switch v := rec[name].(type) {
			case float64:
			case []any:
				if len(v) == 0 || len(v) > 100 {
					t.Errorf("metric %s: %d values", name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(float64); !ok {
						t.Errorf("metric %s: value %v is not a number", name, x)
					}
				}
			default:
				t.Errorf("metric %s: root member %v is not a number or an array of numbers", name, rec[name])
			}
		}
	}
	return rec
}

// emfRecords parses every line of out, each checked against the EMF
// specification.
func emfRecords(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		recs = append(recs, checkEMF(t, l))
	}
	return recs
}

// metricOf returns the names of the metrics rec defines and their dimension
// sets, as "Name:Dim1,Dim2|Dim1".
func metricOf(rec map[string]any) []string {
	var out []string
	for _, d := range rec["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
		dir := d.(map[string]any)
		var sets []string
		for _, s := range dir["Dimensions"].([]any) {
			var keys []string
			for _, k := range s.([]any) {
				keys = append(keys, k.(string))
			}
			sets = append(sets, strings.Join(keys, ","))
		}
		for _, m := range dir["Metrics"].([]any) {
			def := m.(map[string]any)
			out = append(out, def["Name"].(string)+"["+def["Unit"].(string)+"]:"+strings.Join(sets, "|"))
		}
	}
	return out
}

// TestEMFOnTheLambdaPath serves an XCPD query, an eDispensation and a
// refused request through the Lambda adapter (API Gateway payload 2.0) with
// the telemetry a function builds on Lambda writing CloudWatch EMF, then
// delivers the eDispensation: every line is a valid EMF record, and the
// records carry the agreed metrics, dimensions and identifiers. The same
// run's spans show the delivery under the XDR request's identifiers.
func TestEMFOnTheLambdaPath(t *testing.T) {
	var out syncBuffer
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := telemetry.New(telemetry.Options{EMF: &out, Function: "xcpd", Tracer: tp.Tracer(telemetry.TracerName)})
	var logs syncBuffer
	g := startOpts(t, node.NewLogger("info", &logs), 5*time.Second, func(o *node.Options) { o.Telemetry = tel })
	front := testkit.Server(t, host.Front("ncp.example.lu", func(r *http.Request) host.LambdaFunc {
		for name, p := range map[string]string{"xcpd": ehdsi.PathXCPD, "xca": ehdsi.PathXCA, "xdr": ehdsi.PathXDR} {
			if strings.HasPrefix(r.URL.Path, p) {
				h, _ := g.node.Endpoint(name)
				return host.LambdaHandler(h)
			}
		}
		return nil
	}))
	lg := *g
	lg.url = front.URL

	ph := newPharmacist(t, "fr", "pharmacist")
	const patient = "1971011007114"
	trc, _ := identifyAndListEP(t, &lg, ph, patient)
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	ed := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: "ed-fr-emf"},
		Patient:    pid, PatientGiven: "Thomas", PatientName: "Lefebvre",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0003"},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0003"},
		ProductCode:  "3400930000001", ProductName: "Oméprazole 20 mg", ATC: "A02BC01", Quantity: 1,
		Pharmacist: "Claire Martin", Pharmacy: "Pharmacie du Centre", Country: "FR", Time: clock.Now(),
	})
	sub := ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^ed-fr-emf", SubmissionSetID: "2.16.17.710.790.1000.990.1.99.7",
		SourceID: "2.16.17.710.790.1000.990.1", Document: ed}
	rep := ph.call(front.URL+ehdsi.PathXDR, ehdsi.ActionXDR, ncpclient.XDRBody(sub), false, ph.hcp, trc)
	xdrRequestID := rep.Header.Get(reqlog.Header)
	// Refused: no HCP assertion.
	refused, err := ph.client.Call(context.Background(), ncpclient.Request{URL: front.URL + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD,
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "2.16.17.710.790.1000.990.1", ReceiverHCID: ehdsi.HomeCommunityLU,
			PatientID: patient, PatientRoot: ehdsi.OIDMatricule})})
	if err != nil || refused.Fault == nil {
		t.Fatalf("request without an assertion: %v %+v", err, refused)
	}
	if res, err := g.node.Dispatcher().RunOnce(context.Background()); err != nil || res.Delivered != 1 {
		t.Fatalf("dispatcher: %+v %v", res, err)
	}

	recs := emfRecords(t, out.String())
	t.Logf("EMF: %d records, %d bytes", len(recs), len(out.String()))
	var requests []map[string]any
	steps, calls := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		if r["Function"] != "xcpd" {
			t.Errorf("record without Function=xcpd: %v", r)
		}
		ms := metricOf(r)
		switch {
		case slices.Contains(ms, "Requests[Count]:Function,Transaction,Outcome|Function"):
			if !slices.Contains(ms, "RequestLatency[Milliseconds]:Function,Transaction") {
				t.Errorf("request record without RequestLatency: %v", ms)
			}
			requests = append(requests, r)
		case slices.Contains(ms, "StepLatency[Milliseconds]:Function,Step"):
			steps[r["Step"].(string)] = true
		case slices.Contains(ms, "NationalLatency[Milliseconds]:Function,Call"):
			calls[r["Call"].(string)] = true
		default:
			t.Errorf("unexpected metrics %v", ms)
		}
		if strings.Contains(strings.ToLower(fmtRecord(r)), "lefebvre") || strings.Contains(fmtRecord(r), patient) {
			t.Errorf("patient data in an EMF record: %v", r)
		}
	}
	// XCPD, XCA list, XDR, refused XCPD: four requests.
	want := map[string]string{"EHDSI-11": "ok", "EHDSI-31": "ok", "EHDSI-41": "ok"}
	got := map[string]string{}
	var xdr map[string]any
	for _, r := range requests {
		tx, oc := r["Transaction"].(string), r["Outcome"].(string)
		if oc == "refused" {
			got["refused"] = tx
			continue
		}
		got[tx] = oc
		if r["country"] != "FR" || r["ehdsi_code"] != "none" || r[telemetry.AttrRequestID] == "" || !strings.HasPrefix(r[telemetry.AttrMessageID].(string), "urn:uuid:") {
			t.Errorf("request record properties: %v", r)
		}
		if _, ok := r["steps_ms"].(map[string]any)["audit"]; !ok {
			t.Errorf("request record without the audit step latency: %v", r)
		}
		if r[telemetry.AttrRequestID] == xdrRequestID {
			xdr = r
		}
	}
	for tx, oc := range want {
		if got[tx] != oc {
			t.Errorf("Requests of %s: outcome %q, want %q (all: %v)", tx, got[tx], oc, got)
		}
	}
	if got["refused"] == "" {
		t.Errorf("no refused request record (all: %v)", got)
	}
	if xdr == nil {
		t.Fatalf("no request record carries the XDR request id %s", xdrRequestID)
	}
	for _, s := range []string{"tls", "parse", "assertion", "operation", "national", "outbox", "audit"} {
		if !steps[s] {
			t.Errorf("no StepLatency record for step %s (have %v)", s, steps)
		}
	}
	for _, c := range []string{"find_patients", "record_dispense"} {
		if !calls[c] {
			t.Errorf("no NationalLatency record for call %s (have %v)", c, calls)
		}
	}

	// The delivery's trace: a dispatcher.deliver span with the XDR
	// request's identifiers and its national call as a child.
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	var deliver sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == telemetry.SpanDelivery {
			deliver = s
		}
	}
	if deliver == nil {
		t.Fatalf("no %s span", telemetry.SpanDelivery)
	}
	attrs := map[string]string{}
	for _, a := range deliver.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs[telemetry.AttrRequestID] != xdrRequestID || attrs[telemetry.AttrMessageID] != xdr[telemetry.AttrMessageID] || attrs["outbox.result"] != "delivered" {
		t.Errorf("delivery span attributes %v; XDR request id %s, message id %v", attrs, xdrRequestID, xdr[telemetry.AttrMessageID])
	}
	var logged bool
	for _, l := range strings.Split(logs.String(), "\n") {
		logged = logged || (strings.Contains(l, `"outbox: delivered"`) && strings.Contains(l, `"`+reqlog.KeyRequestID+`":"`+xdrRequestID+`"`))
	}
	if !logged {
		var lines []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "outbox") {
				lines = append(lines, l)
			}
		}
		t.Errorf("the delivery's log line lacks the XDR request id %s:\n%s", xdrRequestID, strings.Join(lines, "\n"))
	}
	var national bool
	for _, s := range spans {
		national = national || (s.Name() == telemetry.StepNational && s.Parent().SpanID() == deliver.SpanContext().SpanID())
	}
	if !national {
		t.Error("the delivery span has no national child span")
	}
}

func fmtRecord(r map[string]any) string {
	b, _ := json.Marshal(r)
	return string(b)
}
