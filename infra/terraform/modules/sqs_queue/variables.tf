variable "name" {
  description = "Name of the source queue; the DLQ is <name>-dlq (.fifo appended for FIFO queues)."
  type        = string
}

variable "fifo" {
  description = "Create FIFO queues (sluice keeps per-group order; see README 'SQS')."
  type        = bool
  default     = false
}

variable "visibility_timeout_s" {
  description = "Default visibility of the source queue; keep equal to sluice's source.visibility_timeout_s (5 to 43200; sluice's default is 60)."
  type        = number
  default     = 60

  validation {
    condition     = var.visibility_timeout_s >= 5 && var.visibility_timeout_s <= 43200
    error_message = "visibility_timeout_s must be between 5 and 43200, the range sluice accepts."
  }
}

variable "max_receive_count" {
  description = "Receives before a message goes to the DLQ (redrive policy); sluice moves it there itself, with its reason, on the last allowed receive."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "retention_seconds" {
  description = "How long the source queue keeps a message (60 to 1209600)."
  type        = number
  default     = 345600
}

variable "dlq_retention_seconds" {
  description = "How long the DLQ keeps a message; longer than the source's, because a standard queue's message keeps its original enqueue time in the DLQ."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_seconds >= 60 && var.dlq_retention_seconds <= 1209600
    error_message = "dlq_retention_seconds must be between 60 and 1209600."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts both queues."
  type        = string
}

variable "kms_data_key_reuse_period_seconds" {
  description = "Seconds SQS reuses a data key before calling KMS again (60 to 86400): fewer KMS requests, lower cost."
  type        = number
  default     = 300
}

variable "sender_bucket_arns" {
  description = "S3 buckets (ARNs) whose event notifications may send to the source queue (standard queues only); grant the same ARNs in the key policy (kms module, queue_sender_bucket_arns)."
  type        = list(string)
  default     = []
}

variable "sender_topic_arns" {
  description = "SNS topics (ARNs) whose SQS subscriptions may send to the source queue; grant the same ARNs in the key policy (kms module, queue_sender_topic_arns)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
