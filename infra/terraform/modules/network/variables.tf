variable "name" {
  description = "Name prefix of the VPC and everything in it."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 range of the VPC, /16 to /24; private subnets take its first blocks of prefix + 4 bits, public ones (NAT only) the blocks from the ninth."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 24
    error_message = "cidr_block must be an IPv4 CIDR from /16 to /24."
  }
}

variable "az_count" {
  description = "Availability zones, one private subnet (and with NAT one public subnet) in each; at least two, so a zone's outage leaves the service a subnet."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 8
    error_message = "az_count must be between 2 and 8."
  }
}

variable "egress" {
  description = "How the tasks leave their subnets: endpoints (VPC endpoints only, no internet; create them with the vpc_endpoints module) or nat (internet gateway and NAT gateway)."
  type        = string
  default     = "endpoints"

  validation {
    condition     = contains(["endpoints", "nat"], var.egress)
    error_message = "egress must be endpoints or nat."
  }
}

variable "one_nat_gateway_per_az" {
  description = "With egress = nat: a NAT gateway in every zone (survives a zone's outage) instead of one shared by all (cheaper)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group (its key policy must let CloudWatch Logs use it, as the kms module's does)."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs are kept."
  type        = number
  default     = 365
}

variable "flow_log_traffic_type" {
  description = "Which traffic the flow logs record: ALL, ACCEPT or REJECT."
  type        = string
  default     = "REJECT"

  validation {
    condition     = contains(["ALL", "ACCEPT", "REJECT"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ALL, ACCEPT or REJECT."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the flow logs role, if the account requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
