variable "name" {
  description = "Function name (also the role and log group name)."
  type        = string
}

variable "role_name" {
  description = "Name of the function's own execution role."
  type        = string
}

variable "role_arn" {
  description = "ARN of the function's own execution role."
  type        = string
}

variable "description" {
  description = "What the function does."
  type        = string
}

variable "zip_file" {
  description = "Path of the deployment zip built by `make lambda`."
  type        = string
}

variable "memory_mb" {
  description = "Memory in MB (CPU scales with it)."
  type        = number

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_s" {
  description = "Timeout in seconds."
  type        = number

  validation {
    condition     = var.timeout_s >= 1 && var.timeout_s <= 900
    error_message = "timeout_s must be between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency protecting a downstream system; -1 for none."
  type        = number

  validation {
    condition     = var.reserved_concurrency >= -1
    error_message = "reserved_concurrency must be -1 (none) or a non-negative number."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key encrypting the log group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (egress through the NAT gateways' fixed IPs)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the function."
  type        = list(string)
}

variable "statements" {
  description = "IAM statements the function needs beyond logs and VPC access: named actions on named resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
}

variable "environment" {
  description = "Environment variables; empty values are left out."
  type        = map(string)
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}

variable "pinned_version" {
  description = "Published version the alias \"live\" points at instead of the newest (rollback); empty: the newest."
  type        = string
  default     = ""

  validation {
    condition     = var.pinned_version == "" || can(regex("^[0-9]+$", var.pinned_version))
    error_message = "pinned_version must be empty or a published version number."
  }
}
