variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"luxncp-prod\". Lower-case letters, digits and hyphens."
  type        = string
  default     = "luxncp"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "artifacts_dir" {
  description = "Directory holding the Lambda zips built by `make lambda` (dist/<function>.zip)."
  type        = string
  default     = "../dist"
}

variable "domain_name" {
  description = "Custom domain partners call, e.g. \"ncp.example.lu\" (the eHDSI NCP endpoint host)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as ncp.example.lu."
  }
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate (in this region) for domain_name: the NCP's eHDSI TLS server certificate, imported into ACM."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone for domain_name; when empty no DNS record is created (point the name at the output api_target_domain yourself)."
  type        = string
  default     = ""
}

variable "truststore_file" {
  description = "Local PEM bundle of the CAs whose client certificates may connect (eHDSI partner NCP CAs, and the national CA for /api/v1). Uploaded to a versioned S3 object; a new file gives a new version and API Gateway switches without downtime."
  type        = string

  validation {
    condition     = endswith(var.truststore_file, ".pem")
    error_message = "truststore_file must be a .pem bundle."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC the functions run in."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "availability_zone_count" {
  description = "How many availability zones to spread over. Each gets a NAT gateway with its own Elastic IP: partners allow-list every one of these egress addresses."
  type        = number
  default     = 2

  validation {
    condition     = var.availability_zone_count >= 1 && var.availability_zone_count <= 3
    error_message = "availability_zone_count must be 1, 2 or 3."
  }
}

variable "audit_retention_days" {
  description = "S3 Object Lock (compliance mode) retention of audit records, in days. Nobody, root included, can delete or shorten it. eHDSI asks for at least the national retention of health records access logs."
  type        = number
  default     = 3653

  validation {
    condition     = var.audit_retention_days >= 1 && var.audit_retention_days <= 36500
    error_message = "audit_retention_days must be between 1 and 36500."
  }
}

variable "audit_replication_enabled" {
  description = "Replicate every audit record, with its Object Lock retention, to a bucket in the region of the aws.replica provider (survives the loss of the primary region)."
  type        = bool
  default     = true
}

variable "audit_transition_days" {
  description = "Days after which audit records move to Glacier Instant Retrieval (S3 moves only objects of 128 KB or more)."
  type        = number
  default     = 90

  validation {
    condition     = var.audit_transition_days >= 30
    error_message = "audit_transition_days must be at least 30."
  }
}

variable "audit_delete_after_retention" {
  description = "Delete audit records once their Object Lock retention has ended (never before). false: keep them until deleted by hand."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of function and access logs, in days (one of the values CloudWatch accepts)."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second the HTTP API accepts before answering 429."
  type        = number
  default     = 50

  validation {
    condition     = var.throttle_rate_limit > 0 && var.throttle_rate_limit <= 10000
    error_message = "throttle_rate_limit must be between 1 and 10000."
  }
}

variable "throttle_burst_limit" {
  description = "Burst of requests the HTTP API accepts above the rate limit."
  type        = number
  default     = 100

  validation {
    condition     = var.throttle_burst_limit > 0 && var.throttle_burst_limit <= 5000
    error_message = "throttle_burst_limit must be between 1 and 5000."
  }
}

variable "function_overrides" {
  description = "Per-function overrides of memory (MB), timeout (s) and reserved concurrency (-1: none), keyed by function name (xcpd, xca, xdr, api, dispatcher, maintenance)."
  type = map(object({
    memory_mb            = optional(number)
    timeout_s            = optional(number)
    reserved_concurrency = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for k, v in var.function_overrides : contains(["xcpd", "xca", "xdr", "api", "dispatcher", "maintenance"], k)])
    error_message = "function_overrides keys must be function names: xcpd, xca, xdr, api, dispatcher, maintenance."
  }
}

variable "function_versions" {
  description = "Rollback: pin a function's alias \"live\" to one of its published versions, keyed by function name (e.g. { xca = \"41\" }). A function not listed runs its newest version. See docs/deploy.md, Rolling back."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.function_versions : contains(["xcpd", "xca", "xdr", "api", "dispatcher", "maintenance"], k) && can(regex("^[0-9]+$", v))])
    error_message = "function_versions keys must be function names (xcpd, xca, xdr, api, dispatcher, maintenance) and values published version numbers."
  }
}

variable "national_fhir_base_url" {
  description = "Base URL of the national FHIR R4 API (Luxembourg's shared record) the Country A functions read from."
  type        = string

  validation {
    condition     = startswith(var.national_fhir_base_url, "https://")
    error_message = "national_fhir_base_url must be an https:// URL."
  }
}

variable "identity_issuer_url" {
  description = "OpenID Connect issuer of Luxembourg's national identity provider: the /api/v1 function verifies the professionals' and patients' bearer tokens against its published keys (docs/identity.md)."
  type        = string

  validation {
    condition     = startswith(var.identity_issuer_url, "https://")
    error_message = "identity_issuer_url must be an https:// URL."
  }
}

variable "identity_audience" {
  description = "Audience the national identity tokens must carry for luxncp."
  type        = string
  default     = "luxncp"
}

variable "api_callers" {
  description = "Which calling systems (subject CN of their Luxembourg TLS client certificate) may act for which organisations (the token's organisation_id; \"*\" any) on /api/v1."
  type        = map(list(string))
  default     = {}
}

variable "dispatcher_max_concurrency" {
  description = "Most dispatcher instances the SQS event source starts at once: caps the load on the national FHIR API."
  type        = number
  default     = 5

  validation {
    condition     = var.dispatcher_max_concurrency >= 2 && var.dispatcher_max_concurrency <= 100
    error_message = "dispatcher_max_concurrency must be between 2 and 100 (the SQS event source minimum is 2)."
  }
}

variable "outbox_horizon_days" {
  description = "Days an acknowledged eDispensation keeps being retried through transient national outages before it becomes a dead letter (and the alarm fires)."
  type        = number
  default     = 30

  validation {
    condition     = var.outbox_horizon_days >= 1 && var.outbox_horizon_days <= 365
    error_message = "outbox_horizon_days must be between 1 and 365."
  }
}

variable "outbox_oldest_pending_alarm_minutes" {
  description = "Age in minutes of the oldest undelivered eDispensation that raises the outbox-oldest-pending alarm."
  type        = number
  default     = 30

  validation {
    condition     = var.outbox_oldest_pending_alarm_minutes >= 5
    error_message = "outbox_oldest_pending_alarm_minutes must be at least 5 (the sweep period)."
  }
}

variable "outbox_max_receive_count" {
  description = "Deliveries of one eDispensation message before it moves to the dead-letter queue (and the alarm fires)."
  type        = number
  default     = 8

  validation {
    condition     = var.outbox_max_receive_count >= 1 && var.outbox_max_receive_count <= 1000
    error_message = "outbox_max_receive_count must be between 1 and 1000."
  }
}

variable "directory_refresh_schedule" {
  description = "EventBridge schedule expression for refreshing the eHDSI directory (national contact points, endpoints, certificates)."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.directory_refresh_schedule))
    error_message = "directory_refresh_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "certificate_check_schedule" {
  description = "EventBridge schedule expression for the certificate-expiry check (trusted and own certificates)."
  type        = string
  default     = "cron(0 6 * * ? *)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.certificate_check_schedule))
    error_message = "certificate_check_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "certificate_expiry_warning_days" {
  description = "Alarm when any trusted or own certificate expires within this many days."
  type        = number
  default     = 30

  validation {
    condition     = var.certificate_expiry_warning_days >= 1 && var.certificate_expiry_warning_days <= 365
    error_message = "certificate_expiry_warning_days must be between 1 and 365."
  }
}

variable "error_rate_threshold_percent" {
  description = "Alarm when the share of 5xx answers over 5 minutes exceeds this percentage."
  type        = number
  default     = 1

  validation {
    condition     = var.error_rate_threshold_percent > 0 && var.error_rate_threshold_percent <= 100
    error_message = "error_rate_threshold_percent must be in (0, 100]."
  }
}

variable "duration_alarm_percent" {
  description = "Alarm when a function's p99 duration exceeds this percentage of its timeout (2 of 3 five-minute periods)."
  type        = number
  default     = 80

  validation {
    condition     = var.duration_alarm_percent >= 10 && var.duration_alarm_percent <= 100
    error_message = "duration_alarm_percent must be between 10 and 100."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (empty: subscribe your paging tool to the output alarm_topic_arn instead)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@ ]+@[^@ ]+\\.[a-z]{2,}$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "key_admin_arns" {
  description = "IAM principals allowed to administer (not use) the KMS keys. Empty: the account root, i.e. IAM policies decide."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}
