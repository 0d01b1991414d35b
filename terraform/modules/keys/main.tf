# KMS keys: Luxembourg's eHDSI seal (RSA_2048) and the TLS client key of
# outbound mutual TLS (ECC_NIST_P256), both asymmetric SIGN_VERIFY keys whose
# private keys never leave KMS, and a symmetric data key encrypting the audit
# bucket, tables, queues, logs and the alarm topic.

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

# The private key of the eHDSI TLS client certificate: Country B's outbound
# mutual TLS signs each handshake's CertificateVerify here (ECDSA P-256 with
# SHA-256, valid in TLS 1.2 and 1.3; internal/kmssigner also signs with RSA
# keys, RSASSA-PSS for TLS 1.3); the certificate chain is in the
# configuration bucket (certificates/tls-client.pem).
resource "aws_kms_key" "tls_client" {
  description              = "${var.name_prefix}: Luxembourg eHDSI TLS client key (outbound mutual TLS to partner NCPs)"
  customer_master_key_spec = "ECC_NIST_P256"
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
        Resource  = "*"
      },
      {
        Sid       = "SignOnlyFromOutboundTLSFunctions"
        Effect    = "Allow"
        Principal = { AWS = var.tls_client_role_arn }
        Action    = ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "tls_client" {
  name          = "alias/${var.name_prefix}-tls-client"
  target_key_id = aws_kms_key.tls_client.key_id
}

resource "aws_kms_key" "data" {
  description             = "${var.name_prefix}: encryption of audit records, outbox, queues and logs"
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
