# The audit bucket (./locked: Object Lock in compliance mode, versioning,
# SSE-KMS with the data key, no public access, TLS only, a lifecycle that
# never deletes before the retention), its S3 server access logs, and its
# cross-region replica (replication.tf).

module "primary" {
  source = "./locked"

  bucket_name            = var.bucket_name
  retention_days         = var.retention_days
  kms_key_arn            = var.kms_key_arn
  transition_days        = var.transition_days
  delete_after_retention = var.delete_after_retention
  deny_unencrypted_puts  = true
  tags                   = var.tags
}

# The primary bucket's resources lived in this module before ./locked.
moved {
  from = aws_s3_bucket.this
  to   = module.primary.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.primary.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_object_lock_configuration.this
  to   = module.primary.aws_s3_bucket_object_lock_configuration.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.primary.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.primary.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.primary.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.primary.aws_s3_bucket_policy.this
}

# S3 server access logs of the audit bucket: who read or tried to change a
# record. The log bucket is in the same region (S3 requires it), SSE-S3
# (S3 cannot deliver access logs under SSE-KMS), private, and written only
# by the S3 logging service on behalf of this bucket.
resource "aws_s3_bucket" "access_logs" {
  bucket        = "${var.bucket_name}-access-logs"
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = ["s3:PutObject"]
        Resource  = ["${aws_s3_bucket.access_logs.arn}/audit/*"]
        Condition = {
          ArnLike      = { "aws:SourceArn" = module.primary.bucket_arn }
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"]
        Resource  = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = module.primary.bucket_id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "audit/"

  depends_on = [aws_s3_bucket_policy.access_logs]
}

data "aws_caller_identity" "current" {}
