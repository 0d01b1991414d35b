output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "target_domain_name" {
  description = "Regional host name behind the custom domain."
  value       = aws_apigatewayv2_domain_name.this.domain_name_configuration[0].target_domain_name
}
