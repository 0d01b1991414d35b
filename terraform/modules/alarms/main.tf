# Alarms before anything is lost: dead letters, 5xx rate, Lambda errors,
# throttles and p99 duration per function, dispatcher and maintenance
# failures, audit write failures, certificates about to expire, a stuck
# outbox; and the operations dashboard (dashboard.tf). Custom metrics
# (namespace "luxncp", internal/node.MetricNamespace) are emitted by the
# functions as CloudWatch Embedded Metric Format log lines, which need no IAM
# permission; their names and dimensions are the EMF contract listed in
# terraform/hcl_test.go.

locals {
  namespace = "luxncp"

  # The maintenance function's tasks (functions/maintenance), each with its
  # own MaintenanceFailures series (dimensions Function, Task).
  maintenance_tasks = ["directory-refresh", "certificate-expiry", "outbox-sweep"]
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name_prefix}-outbox-dead-letters"
  alarm_description   = "An eDispensation message could not be delivered and is in the dead-letter queue. See docs/deploy.md, Runbook."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.dead_letter_queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "outbox_age" {
  alarm_name          = "${var.name_prefix}-outbox-stuck"
  alarm_description   = "The oldest eDispensation message waits longer than ten dispatcher timeouts: the dispatcher is failing or throttled."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.consumer_timeout_s * 10
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# The maintenance sweep (every few minutes) writes both metrics; a missing
# metric means the sweep is not running, which is an alarm too.
resource "aws_cloudwatch_metric_alarm" "outbox_oldest_pending" {
  alarm_name          = "${var.name_prefix}-outbox-oldest-pending"
  alarm_description   = "An acknowledged eDispensation has waited more than ${var.outbox_oldest_pending_minutes} minutes for the national record (outage, or a failing dispatcher). Delivery keeps retrying until the horizon; see docs/edispensation.md."
  namespace           = local.namespace
  metric_name         = "OutboxOldestPendingSeconds"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.outbox_oldest_pending_minutes * 60
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "outbox_dead_letters" {
  alarm_name          = "${var.name_prefix}-outbox-dead-letter"
  alarm_description   = "The national record refused an acknowledged eDispensation for good, or its delivery horizon passed: luxncp outbox list --state dead, then retry or resolve (docs/edispensation.md)."
  namespace           = local.namespace
  metric_name         = "OutboxDeadLetters"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "error_rate" {
  alarm_name          = "${var.name_prefix}-5xx-rate"
  alarm_description   = "More than ${var.error_rate_threshold_percent}% of requests answered 5xx over 5 minutes."
  evaluation_periods  = 1
  threshold           = var.error_rate_threshold_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx %"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "5xx"
      dimensions  = { ApiId = var.api_id }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = { ApiId = var.api_id }
      period      = 300
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = var.function_names

  alarm_name          = "${each.value}-throttles"
  alarm_description   = "Lambda throttled ${each.key}: raise its reserved concurrency or the account limit."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = var.function_names

  alarm_name          = "${each.value}-errors"
  alarm_description   = "Lambda ${each.key} failed invocations (crash, timeout, out of memory) in 5 minutes: read /aws/lambda/${each.value}. A fault answered to a partner is not an error here (see the dashboard's outcomes)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# p99 duration near the timeout: the next slow dependency turns into
# timeouts (and, for the IHE functions, into 504s at API Gateway's 30 s).
resource "aws_cloudwatch_metric_alarm" "duration_p99" {
  for_each = var.function_names

  alarm_name          = "${each.value}-duration-p99"
  alarm_description   = "Lambda ${each.key} p99 duration above ${var.duration_alarm_percent}% of its ${var.function_timeouts_s[each.key]} s timeout in 2 of 3 five-minute periods."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = each.value }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.function_timeouts_s[each.key] * 1000 * var.duration_alarm_percent / 100
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# A failed national delivery is retried (docs/edispensation.md); failures
# in three consecutive five-minute periods mean the national record or the
# dispatcher is broken, before the oldest-pending alarm's horizon.
resource "aws_cloudwatch_metric_alarm" "dispatcher_failures" {
  alarm_name          = "${var.name_prefix}-dispatcher-failures"
  alarm_description   = "The dispatcher's national deliveries failed in each of the last 15 minutes' five-minute periods (luxncp/DispatcherFailures). Delivery keeps retrying; read /aws/lambda/${var.function_names["dispatcher"]}."
  namespace           = local.namespace
  metric_name         = "DispatcherFailures"
  dimensions          = { Function = "dispatcher" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "maintenance_failures" {
  for_each = toset(local.maintenance_tasks)

  alarm_name          = "${var.name_prefix}-maintenance-${each.key}-failures"
  alarm_description   = "The maintenance task ${each.key} failed (luxncp/MaintenanceFailures). Read /aws/lambda/${var.function_names["maintenance"]}; see docs/deploy.md, Runbook."
  namespace           = local.namespace
  metric_name         = "MaintenanceFailures"
  dimensions          = { Function = "maintenance", Task = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "audit_write_failures" {
  alarm_name          = "${var.name_prefix}-audit-write-failures"
  alarm_description   = "An audit record could not be written to the Object Lock bucket (the transaction was refused)."
  namespace           = local.namespace
  metric_name         = "AuditWriteFailures"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "certificate_expiry" {
  alarm_name          = "${var.name_prefix}-certificate-expiry"
  alarm_description   = "A certificate expires within ${var.certificate_warning_days} days: the seal, the TLS client or server chain, or a partner's in the trust list or directory; or the daily check stopped reporting. Which one: the query ${aws_cloudwatch_query_definition.certificates.name}. See docs/deploy.md, Rotating certificates."
  namespace           = local.namespace
  metric_name         = "CertificateDaysToExpiry"
  statistic           = "Minimum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = var.certificate_warning_days
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# One alarm per kind of certificate (dimension Kind): luxncp's seal, its TLS
# client chain, the partners' (trust list and directory). The alarm above,
# on the series without dimensions, also fires when the check stops.
resource "aws_cloudwatch_metric_alarm" "certificate_expiry_kind" {
  for_each = toset(["seal", "tls", "partner"])

  alarm_name          = "${var.name_prefix}-certificate-expiry-${each.key}"
  alarm_description   = "A ${each.key == "partner" ? "partner's certificate (trust list or directory)" : "luxncp ${each.key} certificate"} expires within ${var.certificate_warning_days} days. Which one: the query ${aws_cloudwatch_query_definition.certificates.name}. See docs/deploy.md, Rotating certificates."
  namespace           = local.namespace
  metric_name         = "CertificateDaysToExpiry"
  dimensions          = { Kind = each.key }
  statistic           = "Minimum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = var.certificate_warning_days
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# CertificateDaysToExpiry is emitted without dimensions (the alarm above takes
# its minimum) and per Kind; each data point's log line names the certificate (source:
# own:<key> for the seal and TLS client chains, trusted:<bundle> and
# directory:<country>:<transaction> for partners; subject, country,
# notAfter). This query lists them, soonest first.
resource "aws_cloudwatch_query_definition" "certificates" {
  name            = "${var.name_prefix}/certificates-expiring"
  log_group_names = ["/aws/lambda/${var.function_names["maintenance"]}"]

  query_string = <<-EOT
    filter ispresent(CertificateDaysToExpiry)
    | stats min(CertificateDaysToExpiry) as days, latest(notAfter) as not_after by source, subject, country
    | sort days asc
  EOT
}
