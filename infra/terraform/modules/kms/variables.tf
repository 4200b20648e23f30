variable "name" {
  description = "Name prefix of the deployment; the key's alias is alias/<name>."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Days a deleted key stays recoverable (7 to 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "queue_sender_bucket_arns" {
  description = "S3 buckets (ARNs) whose event notifications go to an SQS queue encrypted with this key: the key policy lets s3.amazonaws.com generate data keys for them."
  type        = list(string)
  default     = []
}

variable "queue_sender_topic_arns" {
  description = "SNS topics (ARNs) with SQS subscriptions to a queue encrypted with this key: the key policy lets sns.amazonaws.com generate data keys for them."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
