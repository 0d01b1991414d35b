output "outbox_table_name" {
  description = "Name of the outbox table."
  value       = aws_dynamodb_table.outbox.name
}

output "outbox_table_arn" {
  description = "ARN of the outbox table."
  value       = aws_dynamodb_table.outbox.arn
}

output "idempotency_table_name" {
  description = "Name of the idempotency-key table."
  value       = aws_dynamodb_table.idempotency.name
}

output "idempotency_table_arn" {
  description = "ARN of the idempotency-key table."
  value       = aws_dynamodb_table.idempotency.arn
}

output "queue_arn" {
  description = "ARN of the outbox queue."
  value       = aws_sqs_queue.outbox.arn
}

output "queue_url" {
  description = "URL of the outbox queue."
  value       = aws_sqs_queue.outbox.url
}

output "queue_name" {
  description = "Name of the outbox queue."
  value       = aws_sqs_queue.outbox.name
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.name
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.url
}
