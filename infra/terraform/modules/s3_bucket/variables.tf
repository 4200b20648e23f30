variable "name" {
  description = "Globally unique bucket name (the s3 sinks' bucket)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for default SSE-KMS encryption."
  type        = string
}

variable "quarantine_prefix" {
  description = "Key prefix of the quarantine sink (its `prefix` plus a slash); objects under it expire."
  type        = string
  default     = "quarantine/"
}

variable "quarantine_expiration_days" {
  description = "Days quarantined error envelopes are kept before they expire; long enough to inspect and replay them."
  type        = number
  default     = 90
}

variable "abort_incomplete_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted (their parts are billed until then)."
  type        = number
  default     = 7
}

variable "noncurrent_version_days" {
  description = "Days a replaced object version (a replay's overwrite) is kept."
  type        = number
  default     = 30
}

variable "access_log_bucket" {
  description = "Bucket receiving S3 server access logs; null disables access logging."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a non-empty bucket (examples and tests only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
