// Package telemetry makes the gateway's work visible: Prometheus metrics
// (text exposition format 0.0.4, scraped from a separate admin listener)
// and OpenTelemetry traces (OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is
// set, per the OpenTelemetry specification's exporter environment
// variables).
//
// One transaction is one trace: a root span per request (named after the
// endpoint: XCPD, XCA, XDR) with a child span per step — tls (client
// certificate against the trust list), parse (hardened SOAP reader),
// assertion (HCP assertion verification), operation (the transaction's own
// work), national (each national backend call), outbox (eDispensation
// acceptance), audit (durable audit write) and evidence — each carrying
// request_id and message_id (wsa:MessageID) as attributes, as the logs do
// (internal/reqlog). The same steps feed the latency histograms.
//
// The gateway sees it through gateway.Observer; the national source and the
// outbox through decorators (Source, Outbox). With no tracer the hot path
// pays one histogram observation per step and no allocation for spans.
package telemetry
