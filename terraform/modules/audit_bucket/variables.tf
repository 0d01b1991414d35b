variable "bucket_name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "retention_days" {
  description = "Object Lock compliance-mode retention of every record, in days."
  type        = number

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}

variable "transition_days" {
  description = "Days after which records (and noncurrent versions) move to Glacier Instant Retrieval."
  type        = number
  default     = 90

  validation {
    condition     = var.transition_days >= 30
    error_message = "transition_days must be at least 30 (Standard-IA/Glacier IR minimum)."
  }
}

variable "delete_after_retention" {
  description = "Delete records once their Object Lock retention has ended (never before). Off: records stay until deleted by hand."
  type        = bool
  default     = false
}

variable "access_log_retention_days" {
  description = "Days the S3 server access logs of the audit bucket are kept."
  type        = number
  default     = 365
}

variable "replication_enabled" {
  description = "Replicate every record, with its Object Lock retention, to a replica bucket in the aws.replica provider's region."
  type        = bool
}
