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

variable "staging_prefixes" {
  description = "Staging key prefixes of the S3 sinks of an SQS source with the exactly-once ledger (`<prefix>/_staging/`, with the trailing slash); each gets an expiry rule. Empty: none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for prefix in var.staging_prefixes : endswith(prefix, "/_staging/")])
    error_message = "Every staging prefix must end in /_staging/ (the consumer stages under <prefix>/_staging/)."
  }
}

variable "staging_expiration_days" {
  description = "Days after which a staged object still under a staging prefix expires: an orphan of a cut that was never committed. At least the queue's retention in days plus 2, so no cut that may still commit loses its staged objects (the default: 4 days of retention + 2)."
  type        = number
  default     = 6

  validation {
    condition     = var.staging_expiration_days >= 3
    error_message = "staging_expiration_days must be at least 3 (a queue's retention of at least a day, plus 2)."
  }
}

variable "staging_noncurrent_days" {
  description = "Days a staged object's version is kept after the consumer deleted it (copied to its final key); overrides noncurrent_version_days under the staging prefixes."
  type        = number
  default     = 1

  validation {
    condition     = var.staging_noncurrent_days >= 1
    error_message = "staging_noncurrent_days must be at least 1."
  }
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
