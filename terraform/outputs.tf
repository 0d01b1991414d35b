output "endpoint" {
  description = "Base URL partners call; the IHE services are under /openncp-ws-server/services/."
  value       = "https://${var.domain_name}"
}

output "api_target_domain" {
  description = "Regional API Gateway host name to point domain_name at (CNAME or alias) when route53_zone_id is empty."
  value       = module.gateway.target_domain_name
}

output "egress_ips" {
  description = "Fixed public IPv4 addresses of every outbound call (NAT gateway Elastic IPs): give these to partner NCPs and the national API to allow-list."
  value       = module.network.egress_ips
}

output "seal_key_arn" {
  description = "KMS key holding Luxembourg's eHDSI seal (RSA_2048, SIGN_VERIFY). Make its CSR with `luxncp pki csr --kms-key <arn>`."
  value       = module.keys.seal_key_arn
}

output "audit_bucket" {
  description = "S3 bucket of audit records (Object Lock, compliance mode)."
  value       = module.audit_bucket.bucket_name
}

output "audit_replica_bucket" {
  description = "Cross-region replica of the audit bucket, in the aws.replica provider's region (empty when audit_replication_enabled is false)."
  value       = module.audit_bucket.replica_bucket_name
}

output "audit_access_log_bucket" {
  description = "Bucket receiving the audit bucket's S3 server access logs (prefix audit/)."
  value       = module.audit_bucket.access_log_bucket_name
}

output "config_bucket" {
  description = "S3 bucket of configuration: truststore, eHDSI directory, trust stores, certificates."
  value       = module.config_bucket.bucket_name
}

output "truststore_uri" {
  description = "S3 URI of the mutual TLS truststore."
  value       = module.config_bucket.truststore_uri
}

output "truststore_version" {
  description = "S3 object version of the truststore in use by API Gateway."
  value       = module.config_bucket.truststore_version
}

output "tls_client_key_arn" {
  description = "KMS key holding the eHDSI TLS client key (ECC_NIST_P256, SIGN_VERIFY). Make its CSR with `luxncp pki csr --kms-key <arn>`; upload the certificate chain to certificates/tls-client.pem in the config bucket (docs/deploy.md)."
  value       = module.keys.tls_client_key_arn
}

output "outbox_table" {
  description = "DynamoDB outbox table: LUXNCP_OUTBOX_TABLE for `luxncp outbox list|replay|resolve` (docs/deploy.md, Runbook)."
  value       = module.outbox.outbox_table_name
}

output "outbox_queue_url" {
  description = "SQS queue of eDispensation messages awaiting dispatch."
  value       = module.outbox.queue_url
}

output "outbox_dead_letter_queue_url" {
  description = "Dead-letter queue of eDispensation messages that could not be delivered."
  value       = module.outbox.dead_letter_queue_url
}

output "function_names" {
  description = "Lambda function names by luxncp function."
  value       = { for name, m in module.function : name => m.function_name }
}

output "function_live_versions" {
  description = "Published version each function's alias \"live\" runs (what partners are served)."
  value       = { for name, m in module.function : name => m.live_version }
}

output "function_latest_versions" {
  description = "Newest published version of each function (differs from function_live_versions while function_versions pins a rollback)."
  value       = { for name, m in module.function : name => m.latest_version }
}

output "dashboard_url" {
  description = "CloudWatch console URL of the operations dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${module.alarms.dashboard_name}"
}

output "certificate_query_name" {
  description = "CloudWatch Logs Insights saved query that names the certificates behind the certificate-expiry alarm."
  value       = module.alarms.certificate_query_name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = module.alarms.topic_arn
}
