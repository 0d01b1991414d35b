# luxncp on AWS: one Lambda per function behind an API Gateway HTTP API with
# mutual TLS, KMS-held seal and TLS client keys, Object Lock audit bucket, DynamoDB + SQS
# outbox, fixed egress IPs. See docs/deploy.md.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition

  ihe_base = "/openncp-ws-server/services"

  # The function catalogue: one entry per functions/<name>/main.go.
  # routes: API Gateway route keys; signs: may use the seal key (xca, xdr: evidence, docs/evidence.md);
  # outbound_tls: signs with the KMS TLS client key for mutual TLS to partners;
  # queue: role on the eDispensation queue (send/consume); audit: writes audit records.
  functions = {
    xcpd = {
      description          = "Country A: XCPD cross-gateway patient discovery (IHE ITI-55)"
      routes               = ["POST ${local.ihe_base}/XCPD_Service", "POST ${local.ihe_base}/XCPD_Service/"]
      memory_mb            = 512
      timeout_s            = 29
      reserved_concurrency = -1
      signs                = false
      outbound_tls         = false
      queue                = ""
      outbox               = false
      idempotency          = false
      config_write         = false
    }
    xca = {
      description          = "Country A: XCA cross-gateway query and retrieve (IHE ITI-38/39), PS and eP"
      routes               = ["POST ${local.ihe_base}/XCA_Service", "POST ${local.ihe_base}/XCA_Service/"]
      memory_mb            = 1024
      timeout_s            = 29
      reserved_concurrency = -1
      signs                = true
      outbound_tls         = false
      queue                = ""
      outbox               = false
      idempotency          = false
      config_write         = false
    }
    xdr = {
      description          = "Country A: XDR cross-gateway document submission (IHE ITI-41), eDispensation into the outbox"
      routes               = ["POST ${local.ihe_base}/XDR_Service", "POST ${local.ihe_base}/XDR_Service/"]
      memory_mb            = 1024
      timeout_s            = 29
      reserved_concurrency = 20 # protects the national FHIR API from a burst of submissions
      signs                = true
      outbound_tls         = false
      queue                = "send"
      outbox               = true
      idempotency          = true
      config_write         = false
    }
    api = {
      description          = "Country B: JSON API for Luxembourg HCP software (/api/v1) and /healthz"
      routes               = ["ANY /api/v1/{proxy+}", "GET /healthz"]
      memory_mb            = 1024
      timeout_s            = 29
      reserved_concurrency = -1
      signs                = true
      outbound_tls         = true
      queue                = ""
      outbox               = false
      idempotency          = true
      config_write         = false
    }
    dispatcher = {
      description          = "Country A: delivers accepted eDispensations to the national record, exactly once (SQS-triggered)"
      routes               = []
      memory_mb            = 512
      timeout_s            = 60
      reserved_concurrency = 10 # with the event source's maximum concurrency, caps load on the national FHIR API
      signs                = false
      outbound_tls         = false
      queue                = "consume"
      outbox               = true
      idempotency          = false
      config_write         = false
    }
    maintenance = {
      description          = "Scheduled: eHDSI directory refresh, certificate-expiry checks, outbox sweep"
      routes               = []
      memory_mb            = 256
      timeout_s            = 120
      reserved_concurrency = 3 # one per schedule (directory refresh, certificate check, outbox sweep): two firing in the same minute are not throttled; timeout_s < 5 min, so no task overlaps itself
      signs                = false
      outbound_tls         = false # reads the TLS client certificate (expiry), never its key
      queue                = "send"
      outbox               = true
      idempotency          = false
      config_write         = true
    }
  }

  settings = {
    for name, f in local.functions : name => {
      memory_mb            = coalesce(try(var.function_overrides[name].memory_mb, null), f.memory_mb)
      timeout_s            = coalesce(try(var.function_overrides[name].timeout_s, null), f.timeout_s)
      reserved_concurrency = coalesce(try(var.function_overrides[name].reserved_concurrency, null), f.reserved_concurrency)
    }
  }

  signing_functions = sort([for name, f in local.functions : name if f.signs])

  tags = merge({ application = "luxncp", component = "ncpeh" }, var.tags)

  # Least-privilege statements per function; every action named, every
  # resource named (see terraform/terraform_test.go for the checks).
  statements = {
    for name, f in local.functions : name => concat(
      [
        {
          sid       = "AuditWrite"
          actions   = ["s3:PutObject", "s3:PutObjectRetention"]
          resources = ["${module.audit_bucket.bucket_arn}/*"]
        },
        {
          sid       = "ConfigRead"
          actions   = ["s3:GetObject", "s3:GetObjectVersion"]
          resources = ["${module.config_bucket.bucket_arn}/*"]
        },
        {
          sid       = "DataKeyUse"
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [module.keys.data_key_arn]
        },
      ],
      f.signs ? [{
        sid       = "SealSign"
        actions   = ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
        resources = [module.keys.seal_key_arn]
      }] : [],
      f.outbound_tls ? [{
        sid       = "TLSClientSign"
        actions   = ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
        resources = [module.keys.tls_client_key_arn]
      }] : [],
      f.queue == "send" ? [{
        sid       = "OutboxEnqueue"
        actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
        resources = [module.outbox.queue_arn]
      }] : [],
      f.queue == "consume" ? [{
        sid       = "OutboxConsume"
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        resources = [module.outbox.queue_arn]
      }] : [],
      f.outbox ? [{
        sid       = "OutboxTable"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
        resources = [module.outbox.outbox_table_arn]
      }] : [],
      f.idempotency ? [{
        sid       = "IdempotencyTable"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        resources = [module.outbox.idempotency_table_arn]
      }] : [],
      f.config_write ? [{
        sid       = "DirectoryWrite"
        actions   = ["s3:PutObject"]
        resources = ["${module.config_bucket.bucket_arn}/directory/*"] # never truststores/: Terraform owns the mTLS truststore
      }] : [],
    )
  }
}

module "network" {
  source = "./modules/network"

  name_prefix             = var.name_prefix
  vpc_cidr                = var.vpc_cidr
  availability_zone_count = var.availability_zone_count
  tags                    = local.tags
}

module "keys" {
  source = "./modules/keys"

  name_prefix         = var.name_prefix
  admin_arns          = length(var.key_admin_arns) > 0 ? var.key_admin_arns : ["arn:${local.partition}:iam::${local.account}:root"]
  account_root        = "arn:${local.partition}:iam::${local.account}:root"
  signer_role_arn     = [for name in local.signing_functions : aws_iam_role.function[name].arn]
  tls_client_role_arn = [for name, f in local.functions : aws_iam_role.function[name].arn if f.outbound_tls]
  region              = local.region
  account             = local.account
  tags                = local.tags
}

module "audit_bucket" {
  source = "./modules/audit_bucket"
  providers = {
    aws         = aws
    aws.replica = aws.replica
  }

  bucket_name            = "${var.name_prefix}-audit-${local.account}"
  retention_days         = var.audit_retention_days
  kms_key_arn            = module.keys.data_key_arn
  transition_days        = var.audit_transition_days
  delete_after_retention = var.audit_delete_after_retention
  replication_enabled    = var.audit_replication_enabled
  tags                   = local.tags
}

module "config_bucket" {
  source = "./modules/config_bucket"

  bucket_name     = "${var.name_prefix}-config-${local.account}"
  truststore_file = var.truststore_file
  tags            = local.tags
}

module "outbox" {
  source = "./modules/outbox"

  name_prefix        = var.name_prefix
  kms_key_arn        = module.keys.data_key_arn
  consumer_timeout_s = local.settings["dispatcher"].timeout_s
  max_receive_count  = var.outbox_max_receive_count
  tags               = local.tags
}

# Each function's own execution role. Created here, not in the function
# module, because the seal key policy names the signing roles and the roles'
# policies name the key.
resource "aws_iam_role" "function" {
  for_each = local.functions

  name        = "${var.name_prefix}-${each.key}"
  description = "Execution role of ${var.name_prefix}-${each.key}: ${each.value.description}"
  tags        = local.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
    }]
  })
}

module "function" {
  source   = "./modules/function"
  for_each = local.functions

  name                 = "${var.name_prefix}-${each.key}"
  role_name            = aws_iam_role.function[each.key].name
  role_arn             = aws_iam_role.function[each.key].arn
  description          = each.value.description
  zip_file             = "${var.artifacts_dir}/${each.key}.zip"
  memory_mb            = local.settings[each.key].memory_mb
  timeout_s            = local.settings[each.key].timeout_s
  reserved_concurrency = local.settings[each.key].reserved_concurrency
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = module.keys.data_key_arn
  subnet_ids           = module.network.private_subnet_ids
  security_group_ids   = [module.network.function_security_group_id]
  statements           = local.statements[each.key]
  pinned_version       = lookup(var.function_versions, each.key, "")
  tags                 = local.tags

  environment = {
    LUXNCP_FUNCTION           = each.key
    LUXNCP_AUDIT_BUCKET       = module.audit_bucket.bucket_name
    LUXNCP_AUDIT_RETENTION    = tostring(var.audit_retention_days)
    LUXNCP_CONFIG_BUCKET      = module.config_bucket.bucket_name
    LUXNCP_SEAL_KMS_KEY       = each.value.signs ? module.keys.seal_key_arn : ""
    LUXNCP_TLS_CLIENT_KMS_KEY = each.value.outbound_tls ? module.keys.tls_client_key_arn : ""
    LUXNCP_OUTBOX_TABLE       = each.value.outbox ? module.outbox.outbox_table_name : ""
    LUXNCP_OUTBOX_QUEUE_URL   = each.value.queue != "" ? module.outbox.queue_url : ""
    LUXNCP_IDEMPOTENCY_TABLE  = each.value.idempotency ? module.outbox.idempotency_table_name : ""
    LUXNCP_NATIONAL_FHIR_URL  = var.national_fhir_base_url
    LUXNCP_CERT_WARN_DAYS     = tostring(var.certificate_expiry_warning_days)
    LUXNCP_ID_ISSUER          = var.identity_issuer_url
    LUXNCP_ID_AUDIENCE        = var.identity_audience
    LUXNCP_API_CALLERS        = jsonencode(var.api_callers)
    # Transient national failures are retried this many days before an
    # acknowledged eDispensation becomes a dead letter (docs/edispensation.md).
    LUXNCP_OUTBOX_HORIZON_DAYS = tostring(var.outbox_horizon_days)
  }
}

resource "aws_lambda_event_source_mapping" "dispatcher" {
  event_source_arn                   = module.outbox.queue_arn
  function_name                      = module.function["dispatcher"].alias_arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.dispatcher_max_concurrency
  }
}

module "gateway" {
  source = "./modules/gateway"

  name_prefix          = var.name_prefix
  domain_name          = var.domain_name
  certificate_arn      = var.certificate_arn
  route53_zone_id      = var.route53_zone_id
  truststore_uri       = module.config_bucket.truststore_uri
  truststore_version   = module.config_bucket.truststore_version
  throttle_rate_limit  = var.throttle_rate_limit
  throttle_burst_limit = var.throttle_burst_limit
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = module.keys.data_key_arn
  tags                 = local.tags

  routes = merge([
    for name, f in local.functions : {
      for route in f.routes : route => {
        function_name = module.function[name].function_name
        qualifier     = module.function[name].alias_name
        invoke_arn    = module.function[name].invoke_arn
        timeout_ms    = min(local.settings[name].timeout_s * 1000, 30000)
      }
    }
  ]...)
}

resource "aws_cloudwatch_event_rule" "directory_refresh" {
  name                = "${var.name_prefix}-directory-refresh"
  description         = "Refresh the eHDSI directory (NCP endpoints and certificates)"
  schedule_expression = var.directory_refresh_schedule
  tags                = local.tags
}

resource "aws_cloudwatch_event_rule" "certificate_check" {
  name                = "${var.name_prefix}-certificate-check"
  description         = "Check the expiry of every trusted and own certificate"
  schedule_expression = var.certificate_check_schedule
  tags                = local.tags
}

resource "aws_cloudwatch_event_rule" "outbox_sweep" {
  name                = "${var.name_prefix}-outbox-sweep"
  description         = "Re-queue accepted eDispensations whose SQS message was not sent"
  schedule_expression = "rate(5 minutes)"
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "outbox_sweep" {
  rule  = aws_cloudwatch_event_rule.outbox_sweep.name
  arn   = module.function["maintenance"].alias_arn
  input = jsonencode({ task = "outbox-sweep" })
}

resource "aws_lambda_permission" "outbox_sweep" {
  statement_id  = "AllowEventBridgeOutboxSweep"
  action        = "lambda:InvokeFunction"
  function_name = module.function["maintenance"].function_name
  qualifier     = module.function["maintenance"].alias_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.outbox_sweep.arn
}

resource "aws_cloudwatch_event_target" "directory_refresh" {
  rule  = aws_cloudwatch_event_rule.directory_refresh.name
  arn   = module.function["maintenance"].alias_arn
  input = jsonencode({ task = "directory-refresh" })
}

resource "aws_cloudwatch_event_target" "certificate_check" {
  rule  = aws_cloudwatch_event_rule.certificate_check.name
  arn   = module.function["maintenance"].alias_arn
  input = jsonencode({ task = "certificate-expiry" })
}

resource "aws_lambda_permission" "directory_refresh" {
  statement_id  = "AllowEventBridgeDirectoryRefresh"
  action        = "lambda:InvokeFunction"
  function_name = module.function["maintenance"].function_name
  qualifier     = module.function["maintenance"].alias_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.directory_refresh.arn
}

resource "aws_lambda_permission" "certificate_check" {
  statement_id  = "AllowEventBridgeCertificateCheck"
  action        = "lambda:InvokeFunction"
  function_name = module.function["maintenance"].function_name
  qualifier     = module.function["maintenance"].alias_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.certificate_check.arn
}

module "alarms" {
  source = "./modules/alarms"

  name_prefix                   = var.name_prefix
  kms_key_arn                   = module.keys.data_key_arn
  alarm_email                   = var.alarm_email
  api_id                        = module.gateway.api_id
  region                        = local.region
  function_names                = { for name, m in module.function : name => m.function_name }
  function_timeouts_s           = { for name, s in local.settings : name => s.timeout_s }
  duration_alarm_percent        = var.duration_alarm_percent
  queue_name                    = module.outbox.queue_name
  dead_letter_queue_name        = module.outbox.dead_letter_queue_name
  consumer_timeout_s            = local.settings["dispatcher"].timeout_s
  error_rate_threshold_percent  = var.error_rate_threshold_percent
  outbox_oldest_pending_minutes = var.outbox_oldest_pending_alarm_minutes
  certificate_warning_days      = var.certificate_expiry_warning_days
  tags                          = local.tags
}
