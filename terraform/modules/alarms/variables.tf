variable "name_prefix" {
  description = "Prefix of alarm and topic names."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the alarm topic."
  type        = string
}

variable "alarm_email" {
  description = "E-mail subscribed to the topic; empty for none."
  type        = string
}

variable "api_id" {
  description = "HTTP API whose 5xx rate is watched."
  type        = string
}

variable "function_names" {
  description = "Lambda function names by luxncp function (xcpd, xca, xdr, api, dispatcher, maintenance), each watched for errors, throttles and p99 duration."
  type        = map(string)

  validation {
    condition     = contains(keys(var.function_names), "dispatcher") && contains(keys(var.function_names), "maintenance")
    error_message = "function_names must include dispatcher and maintenance."
  }
}

variable "function_timeouts_s" {
  description = "Timeout in seconds of each function in function_names: the p99 duration alarm fires at duration_alarm_percent of it."
  type        = map(number)
}

variable "duration_alarm_percent" {
  description = "p99 duration, in percent of the function's timeout, that raises its duration alarm."
  type        = number
}

variable "region" {
  description = "Region of the metrics the dashboard shows."
  type        = string
}


variable "queue_name" {
  description = "Outbox queue watched for stuck messages."
  type        = string
}

variable "dead_letter_queue_name" {
  description = "Dead-letter queue watched for any message."
  type        = string
}

variable "consumer_timeout_s" {
  description = "Dispatcher timeout, to size the stuck-message threshold."
  type        = number
}

variable "outbox_oldest_pending_minutes" {
  description = "Age of the oldest undelivered eDispensation that raises the outbox-oldest-pending alarm."
  type        = number
}

variable "error_rate_threshold_percent" {
  description = "5xx percentage that raises the alarm."
  type        = number
}

variable "certificate_warning_days" {
  description = "Days before expiry that raise the certificate alarm."
  type        = number
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
