variable "name" {
  description = "Name prefix of the roles (<name>-task, <name>-execution)."
  type        = string
}

variable "kinesis" {
  description = "The Kinesis source: the stream ARN and the ARN pattern of its enhanced fan-out consumers. null when sluice reads no stream."
  type = object({
    stream_arn           = string
    consumer_arn_pattern = string
  })
  default = null
}

variable "sqs_queue_arns" {
  description = "ARNs of the queues sluice receives from or sends to: the source queue, its DLQ, a job queue."
  type        = list(string)
  default     = []
}

variable "dynamodb_table_arns" {
  description = "ARNs of the tables sluice reads and writes: checkpoints, job ledger, KCL tables, DynamoDB sinks."
  type        = list(string)
}

variable "sqs_ledger" {
  description = "The SQS source's exactly-once ledger: its DynamoDB table and the staging key prefixes of the S3 sinks (`<prefix>/_staging/`, trailing slash) in s3_bucket_arn. Grants the ledger's item actions on the table, object actions and a prefix-conditioned ListBucket under the staging prefixes. null grants none."
  type = object({
    table_arn        = string
    staging_prefixes = list(string)
  })
  default = null

  validation {
    condition     = var.sqs_ledger == null || alltrue([for prefix in try(var.sqs_ledger.staging_prefixes, []) : endswith(prefix, "/_staging/") && !strcontains(prefix, "*")])
    error_message = "sqs_ledger.staging_prefixes must each end in /_staging/ and hold no wildcard."
  }
}

variable "s3_bucket_arn" {
  description = "ARN of the data lake bucket (s3 sinks and quarantine)."
  type        = string
}

variable "s3_read_bucket_arns" {
  description = "ARNs of further buckets sluice only reads (objects named by S3 event notifications on the SQS source)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the stream, queues, bucket and tables."
  type        = string
}

variable "metric_namespaces" {
  description = "CloudWatch namespaces the task may put metrics into (sluice's, plus the KCL application name on the KCL path)."
  type        = list(string)
  default     = ["sluice"]
}

variable "ecs_cluster_name" {
  description = "Cluster of the tasks: grants task scale-in protection on its tasks. null grants none."
  type        = string
  default     = null
}

variable "publish_backlog_metric" {
  description = "Grant ecs:ListTasks (scoped to the cluster) so a task can publish BacklogPerTask itself; not needed with the metric-math scaling policy."
  type        = bool
  default     = false
}

variable "batch_launch" {
  description = "Let the tasks start batch tasks (workflow units and job messages with launch = \"ecs\"): ecs:RunTask of any revision of these task definition families (ARNs without revision) in this cluster, ecs:DescribeTasks on its tasks, iam:PassRole of the batch tasks' roles to ECS tasks (null pass_role_arns: this module's task and execution roles). null grants none."
  type = object({
    cluster_arn          = string
    task_definition_arns = list(string)
    pass_role_arns       = optional(list(string))
  })
  default = null
}

variable "workflow_runs_table_arn" {
  description = "ARN of the workflow run records table (GetItem, PutItem, Query, UpdateItem only); null grants none."
  type        = string
  default     = null
}

variable "notify_topic" {
  description = "SNS topic failed workflow runs are published to (sns:Publish), and the KMS key encrypting it when that is not kms_key_arn (null: it is). null grants none."
  type = object({
    topic_arn   = string
    kms_key_arn = optional(string)
  })
  default = null
}

variable "glue_iceberg_database_arns" {
  description = "ARNs of the Glue databases the Iceberg sink's tables live in (its namespaces): GetDatabase, GetTable, CreateTable and UpdateTable on them, their tables and the account's catalog. Empty grants none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.glue_iceberg_database_arns : strcontains(arn, ":database/") && !strcontains(arn, "*")])
    error_message = "glue_iceberg_database_arns must be Glue database ARNs, without wildcards."
  }
}

variable "efs_file_system_arn" {
  description = "ARN of the EFS file system the tasks mount; null when none."
  type        = string
  default     = null
}

variable "ecr_repository_arn" {
  description = "ARN of the repository the execution role pulls the image from."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of the log group the execution role writes the tasks' logs to."
  type        = string
}

variable "secret_arns" {
  description = "ARNs of Secrets Manager secrets named in the task definitions' `secrets`."
  type        = list(string)
  default     = []
}

variable "ssm_parameter_arns" {
  description = "ARNs of SSM parameters (SecureString) named in the task definitions' `secrets`."
  type        = list(string)
  default     = []
}

variable "secret_kms_key_arns" {
  description = "ARNs of further KMS keys the secrets are encrypted with (the deployment's key is always included)."
  type        = list(string)
  default     = []
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to both roles, if the account requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
