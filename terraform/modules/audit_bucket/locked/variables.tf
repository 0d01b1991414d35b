variable "bucket_name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "retention_days" {
  description = "Object Lock compliance-mode retention of every record, in days."
  type        = number
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS, in the bucket's region."
  type        = string
}

variable "transition_days" {
  description = "Days after which records move to Glacier Instant Retrieval."
  type        = number
}

variable "delete_after_retention" {
  description = "Delete records once their Object Lock retention has ended (never before)."
  type        = bool
}

variable "deny_unencrypted_puts" {
  description = "Refuse a PutObject that does not ask for SSE-KMS (the primary; not the replica, written by S3 replication)."
  type        = bool
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
