variable "name" {
  description = "Name prefix of the endpoints and their security group."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the interface endpoints (the tasks' private subnets)."
  type        = list(string)
}

variable "route_table_ids" {
  description = "Route tables of the tasks' subnets: the S3 and DynamoDB gateway endpoints add their routes there (without them, S3 and DynamoDB traffic, ECR image layers included, finds no way out)."
  type        = list(string)

  validation {
    condition     = length(var.route_table_ids) > 0
    error_message = "route_table_ids must name the route tables of the tasks' subnets: a gateway endpoint without route tables routes nothing."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the interface endpoints on 443."
  type        = list(string)
}

variable "create_interface_endpoints" {
  description = "Create the interface endpoints (interface_services and extra_interface_services); false keeps only the free S3 and DynamoDB gateway endpoints, for subnets that reach the rest through a NAT gateway."
  type        = bool
  default     = true
}

variable "interface_services" {
  description = "Interface endpoint services: ECR (api, dkr) to pull, logs, kinesis-streams, sqs, monitoring (PutMetricData), secretsmanager, ssm, kms, ecs (task scale-in protection), sts."
  type        = list(string)
  default = [
    "ecr.api",
    "ecr.dkr",
    "logs",
    "kinesis-streams",
    "sqs",
    "monitoring",
    "secretsmanager",
    "ssm",
    "kms",
    "ecs",
    "sts",
  ]
}

variable "extra_interface_services" {
  description = "Interface endpoint services beside interface_services, e.g. [\"sns\"] where tasks publish workflow failures."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
