output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Zones of the private subnets, in subnet order."
  value       = aws_subnet.private[*].availability_zone
}

output "private_subnet_ids" {
  description = "Private subnets of the tasks and the interface endpoints, one per zone."
  value       = aws_subnet.private[*].id
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets: the S3 and DynamoDB gateway endpoints attach here."
  value       = aws_route_table.private[*].id
}

output "public_subnet_ids" {
  description = "Public subnets of the NAT gateways (empty for egress = endpoints)."
  value       = aws_subnet.public[*].id
}

output "nat_gateway_ids" {
  description = "NAT gateways (empty for egress = endpoints)."
  value       = aws_nat_gateway.this[*].id
}

output "flow_log_group_name" {
  description = "Log group of the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
