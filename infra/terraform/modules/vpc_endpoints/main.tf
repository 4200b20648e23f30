# VPC endpoints so tasks in private subnets reach AWS without a NAT gateway (and their
# traffic never leaves the AWS network): gateway endpoints for S3 and DynamoDB (free),
# interface endpoints for the rest (billed per hour and AZ, see docs/cost.md).
#
# The gateway endpoints are routes: they work only for subnets whose route tables they
# are attached to, so route_table_ids may not be empty. Security groups and subnets are
# counted, not keyed by their IDs, because a deployment that creates them in the same
# apply (the network module, the tasks' security group) does not know the IDs at plan.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name
}

resource "aws_security_group" "this" {
  name        = "${var.name}-endpoints"
  description = "HTTPS from sluice tasks to the interface endpoints"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  count                        = length(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS from sluice tasks"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.client_security_group_ids[count.index]
}

resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(["s3", "dynamodb"])
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
  tags              = merge(var.tags, { Name = "${var.name}-${each.value}" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = var.create_interface_endpoints ? toset(concat(var.interface_services, var.extra_interface_services)) : toset([])
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.this.id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.value}" })
}
