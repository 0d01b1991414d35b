variable "name_prefix" {
  description = "Prefix of table and queue names."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the tables and queues."
  type        = string
}

variable "consumer_timeout_s" {
  description = "Timeout of the dispatcher function, in seconds; the queue's visibility timeout is six times this."
  type        = number

  validation {
    condition     = var.consumer_timeout_s >= 1 && var.consumer_timeout_s * 6 <= 43200
    error_message = "consumer_timeout_s must be between 1 and 7200."
  }
}

variable "max_receive_count" {
  description = "Deliveries before a message moves to the dead-letter queue."
  type        = number
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
