variable "checkpoint_table_name" {
  description = "Name of the checkpoint table (sluice's source.checkpoint_table)."
  type        = string
}

variable "job_table_name" {
  description = "Name of the job idempotency table (`sluice jobs --ledger-table`)."
  type        = string
}

variable "runs_table_name" {
  description = "Name of the workflow run records table (the workflow file's `runs_table`)."
  type        = string
}

variable "kcl_application_name" {
  description = "KCL application name: creates the lease table of that name and its -WorkerMetricStats and -CoordinatorState tables. null creates none."
  type        = string
  default     = null
}

variable "sqs_ledger_table_name" {
  description = "Name of the SQS source's exactly-once ledger table (the source's `ledger_table`, SLUICE__SOURCE__LEDGER_TABLE). null creates none (a Kinesis source)."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the tables."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the tables (checkpoints lost means a replay from the stream's trim horizon)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
