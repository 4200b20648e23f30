output "security_group_id" {
  description = "Security group of the interface endpoints."
  value       = aws_security_group.this.id
}

output "interface_endpoint_ids" {
  description = "Interface endpoint IDs by service."
  value       = { for service, endpoint in aws_vpc_endpoint.interface : service => endpoint.id }
}

output "gateway_endpoint_ids" {
  description = "Gateway endpoint IDs (s3, dynamodb)."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.id }
}

output "gateway_route_table_ids" {
  description = "Route tables each gateway endpoint (s3, dynamodb) is attached to."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.route_table_ids }
}
