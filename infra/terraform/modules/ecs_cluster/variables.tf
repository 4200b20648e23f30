variable "name" {
  description = "Name of the cluster; the log group is /ecs/<name>."
  type        = string
}

variable "enable_fargate_spot" {
  description = "Register the FARGATE_SPOT capacity provider so services may run part of their tasks on Spot."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days the tasks' logs (JSON lines and EMF metrics) are kept."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the log group."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
