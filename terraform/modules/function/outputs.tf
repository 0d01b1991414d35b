output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the function (invoke the alias instead: alias_arn)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN of the alias \"live\": what API Gateway integrations call."
  value       = aws_lambda_alias.live.invoke_arn
}

output "alias_arn" {
  description = "ARN of the alias \"live\": what the SQS event source and EventBridge targets invoke."
  value       = aws_lambda_alias.live.arn
}

output "alias_name" {
  description = "Name of the alias callers invoke (the qualifier of their Lambda permissions)."
  value       = aws_lambda_alias.live.name
}

output "live_version" {
  description = "Published version the alias \"live\" points at."
  value       = aws_lambda_alias.live.function_version
}

output "latest_version" {
  description = "Newest published version of the function."
  value       = aws_lambda_function.this.version
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = var.role_arn
}
