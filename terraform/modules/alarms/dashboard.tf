# The operations dashboard: what partners and the national record see
# (requests by transaction and outcome, latency, per-step and national
# latency), the eDispensation outbox, failures, certificates, and the
# Lambda and API Gateway service metrics. The custom metrics' dimension
# values (transactions, steps, calls) are not fixed here: SEARCH finds
# every series of a metric with exactly the contract's dimension set.

locals {
  search = {
    for name, q in {
      requests         = ["Requests", "Function,Transaction,Outcome", "Sum"]
      latency_p50      = ["RequestLatency", "Function,Transaction", "p50"]
      latency_p99      = ["RequestLatency", "Function,Transaction", "p99"]
      step_p99         = ["StepLatency", "Function,Step", "p99"]
      national_p50     = ["NationalLatency", "Function,Call", "p50"]
      national_p99     = ["NationalLatency", "Function,Call", "p99"]
      maintenance_fail = ["MaintenanceFailures", "Function,Task", "Sum"]
    } : name => "SEARCH('{${local.namespace},${q[1]}} MetricName=\"${q[0]}\"', '${q[2]}', 300)"
  }

  dashboard_widgets = [
    {
      title   = "Requests by transaction and outcome (ok, fault, refused)"
      stat    = "Sum"
      metrics = [[{ id = "requests", expression = local.search.requests, label = "" }]]
    },
    {
      title = "Request latency p50 and p99 (ms)"
      metrics = [
        [{ id = "p50", expression = local.search.latency_p50, label = "p50" }],
        [{ id = "p99", expression = local.search.latency_p99, label = "p99" }],
      ]
    },
    {
      title   = "Step latency p99 (ms): tls, parse, assertion, operation, national, outbox, audit, evidence"
      metrics = [[{ id = "steps", expression = local.search.step_p99, label = "" }]]
    },
    {
      title = "National FHIR API latency p50 and p99 (ms)"
      metrics = [
        [{ id = "n50", expression = local.search.national_p50, label = "p50" }],
        [{ id = "n99", expression = local.search.national_p99, label = "p99" }],
      ]
    },
    {
      title = "eDispensation outbox: oldest pending (s), dead letters, queue"
      stat  = "Maximum"
      metrics = [
        [local.namespace, "OutboxOldestPendingSeconds", { label = "oldest pending (s)" }],
        [local.namespace, "OutboxDeadLetters", { label = "dead letters", yAxis = "right" }],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", var.queue_name, { label = "oldest queue message (s)" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name, { label = "queue depth", yAxis = "right" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dead_letter_queue_name, { label = "dead-letter queue depth", yAxis = "right" }],
      ]
    },
    {
      title = "Failures: dispatcher deliveries, maintenance tasks, audit writes"
      stat  = "Sum"
      metrics = [
        [local.namespace, "DispatcherFailures", "Function", "dispatcher", { label = "dispatcher" }],
        [{ id = "maintenance", expression = local.search.maintenance_fail, label = "" }],
        [local.namespace, "AuditWriteFailures", { label = "audit writes" }],
      ]
    },
    {
      title   = "Certificate days to expiry (soonest of seal, TLS, partners)"
      stat    = "Minimum"
      period  = 86400
      metrics = [[local.namespace, "CertificateDaysToExpiry", { label = "days" }]]
      annotations = {
        horizontal = [{ label = "alarm", value = var.certificate_warning_days }]
      }
    },
    {
      title   = "Lambda errors"
      stat    = "Sum"
      metrics = [for name, fn in var.function_names : ["AWS/Lambda", "Errors", "FunctionName", fn, { label = name }]]
    },
    {
      title   = "Lambda throttles"
      stat    = "Sum"
      metrics = [for name, fn in var.function_names : ["AWS/Lambda", "Throttles", "FunctionName", fn, { label = name }]]
    },
    {
      title   = "Lambda duration p99 (ms)"
      stat    = "p99"
      metrics = [for name, fn in var.function_names : ["AWS/Lambda", "Duration", "FunctionName", fn, { label = name }]]
    },
    {
      title = "API Gateway: requests, 4xx, 5xx"
      stat  = "Sum"
      metrics = [
        ["AWS/ApiGateway", "Count", "ApiId", var.api_id, { label = "requests" }],
        ["AWS/ApiGateway", "4xx", "ApiId", var.api_id, { label = "4xx" }],
        ["AWS/ApiGateway", "5xx", "ApiId", var.api_id, { label = "5xx" }],
      ]
    },
    {
      title = "API Gateway latency p50 and p99 (ms)"
      metrics = [
        ["AWS/ApiGateway", "Latency", "ApiId", var.api_id, { label = "p50", stat = "p50" }],
        ["AWS/ApiGateway", "Latency", "ApiId", var.api_id, { label = "p99", stat = "p99" }],
      ]
    },
  ]

  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.dashboard_widgets : {
        type       = "metric"
        x          = (i % 2) * 12
        y          = floor(i / 2) * 6
        width      = 12
        height     = 6
        properties = merge({ region = var.region, view = "timeSeries", period = 300 }, w)
      }
    ]
  })
}

resource "aws_cloudwatch_dashboard" "operations" {
  dashboard_name = "${var.name_prefix}-operations"
  dashboard_body = local.dashboard_body
}
