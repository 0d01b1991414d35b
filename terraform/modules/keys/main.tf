# KMS keys: Luxembourg's eHDSI seal (asymmetric RSA_2048, SIGN_VERIFY; the
# private key never leaves KMS) and a symmetric data key encrypting the audit
# bucket, tables, queues, logs, the TLS client secret and the alarm topic.

locals {
  # Administration only: none of these signs, encrypts or decrypts.
  admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:GetPublicKey",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]
  data_use_actions = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
  ]
}

resource "aws_kms_key" "seal" {
  description              = "${var.name_prefix}: Luxembourg eHDSI seal (assertion and document signatures)"
  customer_master_key_spec = "RSA_2048"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 30
  tags                     = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "Administer"
        Effect    = "Allow"
        Principal = { AWS = var.admin_arns }
        Action    = local.admin_actions
        Resource  = "*" # in a key policy, "*" is this key
      },
      {
        Sid       = "SignOnlyFromSigningFunctions"
        Effect    = "Allow"
        Principal = { AWS = var.signer_role_arn }
        Action    = ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "seal" {
  name          = "alias/${var.name_prefix}-seal"
  target_key_id = aws_kms_key.seal.key_id
}

resource "aws_kms_key" "data" {
  description             = "${var.name_prefix}: encryption of audit records, outbox, queues, logs and secrets"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "Administer"
        Effect    = "Allow"
        Principal = { AWS = var.admin_arns }
        Action    = local.admin_actions
        Resource  = "*"
      },
      {
        Sid       = "UseThroughIAMPolicies"
        Effect    = "Allow"
        Principal = { AWS = var.account_root }
        Action    = local.data_use_actions
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = local.data_use_actions
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${var.region}:${var.account}:log-group:*" }
        }
      },
      {
        Sid       = "CloudWatchAlarmsToSNS"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name_prefix}-data"
  target_key_id = aws_kms_key.data.key_id
}
