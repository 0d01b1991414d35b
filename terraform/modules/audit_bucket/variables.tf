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
