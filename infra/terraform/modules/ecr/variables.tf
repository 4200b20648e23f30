variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the images."
  type        = string
}

variable "keep_images" {
  description = "How many newest images to keep; older ones expire. Keep enough to roll back to."
  type        = number
  default     = 30
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images expire."
  type        = number
  default     = 7
}

variable "force_delete" {
  description = "Let `terraform destroy` delete a repository that still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
