# One luxncp function: the least-privilege policy of its own execution role
# (every action and resource named; the role itself is created by the root
# module, before the KMS key policy that names it), its own log group with a
# retention, arm64 on the provided.al2023 runtime, in the VPC's private
# subnets. Every deployment publishes an immutable version; callers invoke
# the alias "live", which points at the newest version unless
# var.pinned_version pins it to an older one (rollback, docs/deploy.md).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  ec2_arn = "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role_policy" "this" {
  name = "${var.name}-least-privilege"
  role = var.role_name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "Logs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
        },
        {
          Sid    = "VPCNetworkInterfaces"
          Effect = "Allow"
          Action = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
          Resource = concat(
            ["${local.ec2_arn}:network-interface/*"],
            [for id in var.subnet_ids : "${local.ec2_arn}:subnet/${id}"],
            [for id in var.security_group_ids : "${local.ec2_arn}:security-group/${id}"],
          )
        },
        {
          # EC2 Describe* calls support no resource-level permissions.
          Sid      = "VPCDescribe"
          Effect   = "Allow"
          Action   = ["ec2:DescribeNetworkInterfaces"]
          Resource = ["*"]
        },
      ],
      [for s in var.statements : {
        Sid      = s.sid
        Effect   = "Allow"
        Action   = s.actions
        Resource = s.resources
      }],
    )
  })
}

resource "aws_lambda_function" "this" {
  function_name                  = var.name
  description                    = var.description
  role                           = var.role_arn
  filename                       = var.zip_file
  source_code_hash               = filebase64sha256(var.zip_file)
  handler                        = "bootstrap"
  runtime                        = "provided.al2023"
  architectures                  = ["arm64"]
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_s
  reserved_concurrent_executions = var.reserved_concurrency
  publish                        = true
  tags                           = var.tags

  environment {
    variables = { for k, v in var.environment : k => v if v != "" }
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "What API Gateway, SQS and EventBridge invoke: the newest published version, or var.pinned_version"
  function_name    = aws_lambda_function.this.function_name
  function_version = var.pinned_version != "" ? var.pinned_version : aws_lambda_function.this.version
}
