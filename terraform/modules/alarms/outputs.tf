output "topic_arn" {
  description = "SNS topic of every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch operations dashboard."
  value       = aws_cloudwatch_dashboard.operations.dashboard_name
}

output "certificate_query_name" {
  description = "CloudWatch Logs Insights query listing certificates by days to expiry."
  value       = aws_cloudwatch_query_definition.certificates.name
}
