variable "name_prefix" {
  description = "Prefix of key descriptions and aliases."
  type        = string
}

variable "admin_arns" {
  description = "Principals that administer the keys (never use them)."
  type        = list(string)
}

variable "account_root" {
  description = "ARN of the account root, to let IAM policies grant use of the data key."
  type        = string
}

variable "signer_role_arn" {
  description = "Roles of the functions that sign with the seal key: the only principals the seal key policy lets sign."
  type        = list(string)

  validation {
    condition     = length(var.signer_role_arn) > 0
    error_message = "At least one function must sign."
  }
}

variable "tls_client_role_arn" {
  description = "Roles of the functions that make outbound mutual TLS calls: the only principals the TLS client key policy lets sign."
  type        = list(string)

  validation {
    condition     = length(var.tls_client_role_arn) > 0
    error_message = "At least one function must make outbound mutual TLS calls."
  }
}

variable "region" {
  description = "Region, for the CloudWatch Logs service principal."
  type        = string
}

variable "account" {
  description = "Account id, for the CloudWatch Logs encryption context condition."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
