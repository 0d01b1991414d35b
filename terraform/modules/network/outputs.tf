output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Subnets the functions run in."
  value       = aws_subnet.private[*].id
}

output "function_security_group_id" {
  description = "Security group of the functions."
  value       = aws_security_group.functions.id
}

output "egress_ips" {
  description = "Public IPs of the NAT gateways: every outbound call leaves from one of these."
  value       = aws_eip.nat[*].public_ip
}
