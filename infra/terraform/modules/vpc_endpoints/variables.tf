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
  description = "Route tables of the tasks' subnets, for the S3 and DynamoDB gateway endpoints."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the interface endpoints on 443."
  type        = list(string)
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
