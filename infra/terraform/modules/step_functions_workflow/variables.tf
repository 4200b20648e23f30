variable "name" {
  description = "Name of the state machine, its role, log group and schedule."
  type        = string
}

variable "definition_file" {
  description = "The workflow's Amazon States Language template: what `sluice batch workflow render FILE --target stepfunctions --terraform-template` prints."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the units run in."
  type        = string
}

variable "task_definition_arn" {
  description = "ARN (with revision) of the batch task definition each unit runs: an execution runs the image deployed with it."
  type        = string
}

variable "task_definition_family_arn" {
  description = "ARN of that task definition's family, without revision (IAM: RunTask of its revisions)."
  type        = string
}

variable "container_name" {
  description = "Container of the task definition whose command each unit replaces."
  type        = string
  default     = "sluice"
}

variable "subnet_ids" {
  description = "Private subnets of the unit tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the unit tasks."
  type        = list(string)
}

variable "task_role_arn" {
  description = "Task role of the task definition (passed to ECS by RunTask)."
  type        = string
}

variable "execution_role_arn" {
  description = "Execution role of the task definition (passed to ECS by RunTask)."
  type        = string
}

variable "runs_table_name" {
  description = "Run records table (the workflow file's runs_table as deployed)."
  type        = string
}

variable "runs_table_arn" {
  description = "ARN of the run records table."
  type        = string
}

variable "notify_topic_arn" {
  description = "SNS topic failed runs are published to."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key of the log group, and of the topic and runs table the state machine writes."
  type        = string
}

variable "log_retention_days" {
  description = "Days the execution log is kept."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Step Functions log level: ALL, ERROR or FATAL."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "tracing_enabled" {
  description = "X-Ray tracing of the executions."
  type        = bool
  default     = true
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression starting an execution, e.g. \"cron(30 3 * * ? *)\"; null: no schedule (aws stepfunctions start-execution --name RUN_ID)."
  type        = string
  default     = null
}

variable "schedule_timezone" {
  description = "IANA time zone of a cron schedule."
  type        = string
  default     = "UTC"
}

variable "schedule_enabled" {
  description = "Whether the schedule fires (false keeps it, paused)."
  type        = bool
  default     = true
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the roles, if the account requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
