# Alarms before anything is lost: dead letters, 5xx rate, throttling, audit
# write failures, certificates about to expire, a stuck outbox. Custom
# metrics (namespace "luxncp") are emitted by the functions as CloudWatch
# Embedded Metric Format log lines, which need no IAM permission.

locals {
  namespace = "luxncp"
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
  alarm_description   = "A trusted or own certificate (TLS, seal, partner) expires within ${var.certificate_warning_days} days, or the daily check stopped reporting. See docs/deploy.md, Rotating certificates."
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
