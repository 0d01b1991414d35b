output "bucket_name" {
  description = "Name of the configuration bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the configuration bucket."
  value       = aws_s3_bucket.this.arn
}

output "truststore_uri" {
  description = "s3:// URI of the truststore object."
  value       = "s3://${aws_s3_bucket.this.bucket}/${aws_s3_object.truststore.key}"
}

output "truststore_version" {
  description = "Version id of the uploaded truststore."
  value       = aws_s3_object.truststore.version_id
}
