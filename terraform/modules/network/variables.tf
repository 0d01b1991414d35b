variable "name_prefix" {
  description = "Prefix of resource names."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into /4-smaller public and private subnets."
  type        = string
}

variable "availability_zone_count" {
  description = "Availability zones used; one NAT gateway and Elastic IP each."
  type        = number
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
