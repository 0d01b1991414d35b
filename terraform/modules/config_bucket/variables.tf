variable "bucket_name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "truststore_file" {
  description = "Local PEM bundle uploaded as the mutual TLS truststore."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
