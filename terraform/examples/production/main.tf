# Production environment of luxncp: copy this directory, fill in
# terraform.tfvars (see terraform.tfvars.example) and a state backend, then
# follow docs/deploy.md.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }

  # Keep the state in S3 with locking, e.g.:
  # backend "s3" {
  #   bucket         = "example-lu-terraform-state"
  #   key            = "luxncp/production.tfstate"
  #   region         = "eu-central-1"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      environment = "production"
      owner       = "ncpeh-platform"
    }
  }
}

variable "region" {
  description = "AWS region (the eHDSI central services and most partners are in the EU: stay in an EU region)."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = startswith(var.region, "eu-")
    error_message = "Keep health data in an EU region."
  }
}

# The audit trail's cross-region replica (audit_replication_enabled).
provider "aws" {
  alias  = "replica"
  region = var.replica_region

  default_tags {
    tags = {
      environment = "production"
      owner       = "ncpeh-platform"
    }
  }
}

variable "replica_region" {
  description = "Second AWS region, holding the audit bucket's replica: another EU region than region."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = startswith(var.replica_region, "eu-")
    error_message = "Keep health data in an EU region."
  }
}

variable "function_versions" {
  description = "Rollback: pin a function's alias \"live\" to a published version, e.g. { xca = \"41\" } (docs/deploy.md, Rolling back)."
  type        = map(string)
  default     = {}
}

variable "domain_name" {
  description = "The NCP's public host name."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of domain_name."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 zone of domain_name (empty: manage DNS elsewhere)."
  type        = string
  default     = ""
}

variable "national_fhir_base_url" {
  description = "National FHIR R4 API base URL."
  type        = string
}

variable "identity_issuer_url" {
  description = "OpenID Connect issuer of the national identity provider."
  type        = string
}

variable "api_callers" {
  description = "Calling systems (TLS certificate CN) and the organisations they may act for."
  type        = map(list(string))
  default     = {}
}

variable "alarm_email" {
  description = "On-call e-mail for alarms."
  type        = string
  default     = ""
}

module "luxncp" {
  source = "../.."
  providers = {
    aws         = aws
    aws.replica = aws.replica
  }

  name_prefix             = "luxncp-prod"
  artifacts_dir           = "${path.root}/../../../dist"
  domain_name             = var.domain_name
  certificate_arn         = var.certificate_arn
  route53_zone_id         = var.route53_zone_id
  truststore_file         = "${path.root}/truststore.pem"
  national_fhir_base_url  = var.national_fhir_base_url
  identity_issuer_url     = var.identity_issuer_url
  api_callers             = var.api_callers
  availability_zone_count = 2
  audit_retention_days    = 3653
  log_retention_days      = 365
  alarm_email             = var.alarm_email
  function_versions       = var.function_versions

  function_overrides = {
    xca = { memory_mb = 1536 }
  }
}

output "endpoint" {
  description = "Base URL partners call."
  value       = module.luxncp.endpoint
}

output "egress_ips" {
  description = "Addresses partners allow-list."
  value       = module.luxncp.egress_ips
}

output "seal_key_arn" {
  description = "KMS seal key."
  value       = module.luxncp.seal_key_arn
}

output "tls_client_key_arn" {
  description = "KMS TLS client key (outbound mutual TLS)."
  value       = module.luxncp.tls_client_key_arn
}

output "config_bucket" {
  description = "Bucket the functions read their configuration from (trust bundle, seal and TLS client certificates, directory)."
  value       = module.luxncp.config_bucket
}

output "audit_bucket" {
  description = "S3 Object Lock bucket of the audit trail."
  value       = module.luxncp.audit_bucket
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms publish to: subscribe the on-call rota."
  value       = module.luxncp.alarm_topic_arn
}

output "api_target_domain" {
  description = "Regional API Gateway host name behind domain_name."
  value       = module.luxncp.api_target_domain
}

output "audit_replica_bucket" {
  description = "Cross-region replica of the audit bucket (empty when replication is off)."
  value       = module.luxncp.audit_replica_bucket
}

output "audit_access_log_bucket" {
  description = "Bucket of the audit bucket's S3 server access logs."
  value       = module.luxncp.audit_access_log_bucket
}

output "outbox_table" {
  description = "DynamoDB outbox table (LUXNCP_OUTBOX_TABLE for the luxncp outbox commands)."
  value       = module.luxncp.outbox_table
}

output "outbox_queue_url" {
  description = "SQS queue of eDispensations awaiting dispatch."
  value       = module.luxncp.outbox_queue_url
}

output "outbox_dead_letter_queue_url" {
  description = "Dead-letter queue of the outbox."
  value       = module.luxncp.outbox_dead_letter_queue_url
}

output "truststore_uri" {
  description = "S3 URI of the mutual TLS truststore."
  value       = module.luxncp.truststore_uri
}

output "truststore_version" {
  description = "S3 object version of the truststore API Gateway uses."
  value       = module.luxncp.truststore_version
}

output "function_names" {
  description = "Lambda function names by luxncp function."
  value       = module.luxncp.function_names
}

output "function_live_versions" {
  description = "Published version each function's alias \"live\" runs."
  value       = module.luxncp.function_live_versions
}

output "function_latest_versions" {
  description = "Newest published version of each function."
  value       = module.luxncp.function_latest_versions
}

output "dashboard_url" {
  description = "CloudWatch operations dashboard."
  value       = module.luxncp.dashboard_url
}

output "certificate_query_name" {
  description = "Logs Insights query naming the certificates behind the certificate-expiry alarm."
  value       = module.luxncp.certificate_query_name
}
