output "bucket_name" {
  description = "Name of the audit bucket."
  value       = module.primary.bucket_name
}

output "bucket_arn" {
  description = "ARN of the audit bucket."
  value       = module.primary.bucket_arn
}

output "replica_bucket_name" {
  description = "Name of the cross-region replica of the audit bucket (empty when replication is off)."
  value       = join("", module.replica[*].bucket_name)
}

output "access_log_bucket_name" {
  description = "Bucket receiving the audit bucket's S3 server access logs (prefix audit/)."
  value       = aws_s3_bucket.access_logs.bucket
}
