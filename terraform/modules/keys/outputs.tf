output "seal_key_arn" {
  description = "ARN of the seal signing key."
  value       = aws_kms_key.seal.arn
}

output "tls_client_key_arn" {
  description = "ARN of the TLS client signing key."
  value       = aws_kms_key.tls_client.arn
}

output "data_key_arn" {
  description = "ARN of the symmetric data encryption key."
  value       = aws_kms_key.data.arn
}
