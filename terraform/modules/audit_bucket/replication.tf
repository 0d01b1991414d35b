# Cross-region replication of the audit trail (var.replication_enabled): a
# replica bucket in the region of the aws.replica provider, with Object Lock
# in COMPLIANCE mode and versioning, encrypted with a KMS key of its own
# region. S3 copies each record with its Object Lock retention (mode and
# retain-until date), so a replica is as undeletable as its original; the
# bucket's default retention covers a record whose retention did not come
# along. Delete markers are not replicated.

locals {
  replicas = var.replication_enabled ? 1 : 0
}

resource "aws_kms_key" "replica" {
  count    = local.replicas
  provider = aws.replica

  description             = "${var.bucket_name}-replica: encryption of the audit replica"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "UseAndAdministerThroughIAMPolicies"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = local.replica_key_actions
      Resource  = "*" # in a key policy, "*" is this key
    }]
  })
}

data "aws_partition" "current" {}

locals {
  replica_key_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
  ]
}

module "replica" {
  source = "./locked"
  count  = local.replicas
  providers = {
    aws = aws.replica
  }

  bucket_name            = "${var.bucket_name}-replica"
  retention_days         = var.retention_days
  kms_key_arn            = aws_kms_key.replica[0].arn
  transition_days        = var.transition_days
  delete_after_retention = var.delete_after_retention
  deny_unencrypted_puts  = false
  tags                   = var.tags
}

resource "aws_iam_role" "replication" {
  count = local.replicas

  name        = "${var.bucket_name}-replication"
  description = "S3 replication of ${var.bucket_name} to ${var.bucket_name}-replica"
  tags        = var.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
    }]
  })
}

resource "aws_iam_role_policy" "replication" {
  count = local.replicas

  name = "${var.bucket_name}-replication"
  role = aws_iam_role.replication[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadSourceConfiguration"
        Effect   = "Allow"
        Action   = ["s3:GetReplicationConfiguration", "s3:ListBucket", "s3:GetObjectLockConfiguration"]
        Resource = [module.primary.bucket_arn]
      },
      {
        Sid      = "ReadSourceVersions"
        Effect   = "Allow"
        Action   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold"]
        Resource = ["${module.primary.bucket_arn}/*"]
      },
      {
        Sid      = "WriteReplica"
        Effect   = "Allow"
        Action   = ["s3:ReplicateObject", "s3:ReplicateTags"]
        Resource = ["${module.replica[0].bucket_arn}/*"]
      },
      {
        Sid      = "DecryptSource"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
      {
        Sid      = "EncryptReplica"
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:GenerateDataKey"]
        Resource = [aws_kms_key.replica[0].arn]
      },
    ]
  })
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count = local.replicas

  bucket = module.primary.bucket_id
  role   = aws_iam_role.replication[0].arn

  rule {
    id     = "audit-replica"
    status = "Enabled"

    filter {}

    delete_marker_replication {
      status = "Disabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket        = module.replica[0].bucket_arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = aws_kms_key.replica[0].arn
      }
    }
  }

  depends_on = [module.primary, module.replica]
}
