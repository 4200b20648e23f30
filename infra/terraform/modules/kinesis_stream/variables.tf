variable "name" {
  description = "Name of the stream (sluice's source.stream)."
  type        = string
}

variable "shard_count" {
  description = "Shards of the stream; each takes 1 MB/s or 1,000 records/s in and 2 MB/s out."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1
    error_message = "shard_count must be at least 1."
  }
}

variable "retention_hours" {
  description = "Hours records stay readable (24 to 8760). Must exceed the longest consumer outage you want to survive without loss."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be between 24 and 8760."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the stream."
  type        = string
}

variable "shard_level_metrics" {
  description = "Enhanced shard-level CloudWatch metrics (billed per shard and metric), e.g. [\"IteratorAgeMilliseconds\"]."
  type        = list(string)
  default     = []
}

variable "enhanced_fan_out_consumer_name" {
  description = "Name of an enhanced fan-out consumer to register for the KCL path; null registers none (the polling reader does not use one)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
