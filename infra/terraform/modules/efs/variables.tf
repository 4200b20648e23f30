variable "name" {
  description = "Name of the file system and its security group."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the mount targets."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets to create mount targets in (one per availability zone the tasks use)."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach NFS (the tasks' groups)."
  type        = list(string)
}

variable "client_role_arns" {
  description = "Task role ARNs allowed to mount through the access point."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the file system."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
