output "bucket_name" {
  description = "Name of the audit bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the audit bucket."
  value       = aws_s3_bucket.this.arn
}

output "replica_bucket_name" {
  description = "Name of the cross-region replica of the audit bucket (empty when replication is off)."
  value       = join("", aws_s3_bucket.replica[*].bucket)
}

output "access_log_bucket_name" {
  description = "Bucket receiving the audit bucket's S3 server access logs (prefix audit/)."
  value       = aws_s3_bucket.access_logs.bucket
}
