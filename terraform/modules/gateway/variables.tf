variable "name_prefix" {
  description = "Name of the API and its log group."
  type        = string
}

variable "domain_name" {
  description = "Custom domain name."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the custom domain."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone for an alias record; empty for none."
  type        = string
}

variable "truststore_uri" {
  description = "s3:// URI of the mutual TLS truststore."
  type        = string

  validation {
    condition     = startswith(var.truststore_uri, "s3://")
    error_message = "truststore_uri must be an s3:// URI."
  }
}

variable "truststore_version" {
  description = "S3 object version of the truststore."
  type        = string
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second."
  type        = number
}

variable "throttle_burst_limit" {
  description = "Burst requests."
  type        = number
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key encrypting the access log group."
  type        = string
}

variable "routes" {
  description = "Route key (e.g. \"POST /openncp-ws-server/services/XCPD_Service\") to the function serving it: its name, the alias invoked (qualifier) and the alias's invoke ARN."
  type = map(object({
    function_name = string
    qualifier     = string
    invoke_arn    = string
    timeout_ms    = number
  }))
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
