variable "name" {
  description = "Name prefix of every resource of this deployment."
  type        = string
  default     = "sluice-example"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags added to every resource (beside application and deployment)."
  type        = map(string)
  default     = {}
}

variable "pipeline_name" {
  description = "`name` in the image's pipeline file: the `service` metric dimension and part of every checkpoint key. The default matches examples/clickstream/pipeline.toml."
  type        = string
  default     = "sluice-demo"
}

# ------------------------------------------------------------------------------ network

variable "vpc_id" {
  description = "VPC the tasks run in; null (the default) creates one with the network module (network_* variables), for an account that starts empty."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "With vpc_id: the tasks' private subnets (no public IPs are assigned). Ignored when the network module creates them."
  type        = list(string)
  default     = []
}

variable "route_table_ids" {
  description = "With vpc_id: route tables of the private subnets, where the S3 and DynamoDB gateway endpoints attach (required unless create_vpc_endpoints = false). Ignored when the network module creates them."
  type        = list(string)
  default     = []
}

variable "network_cidr" {
  description = "With vpc_id = null: IPv4 range of the VPC the network module creates (/16 to /24)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "network_az_count" {
  description = "With vpc_id = null: availability zones of the created VPC, one private subnet each (at least 2)."
  type        = number
  default     = 2
}

variable "network_egress" {
  description = "With vpc_id = null: endpoints (no internet; every AWS API through VPC endpoints) or nat (internet gateway and NAT gateway; S3 and DynamoDB still through their free gateway endpoints). docs/deployment.md compares them."
  type        = string
  default     = "endpoints"

  validation {
    condition     = contains(["endpoints", "nat"], var.network_egress)
    error_message = "network_egress must be endpoints or nat."
  }
}

variable "network_one_nat_gateway_per_az" {
  description = "With network_egress = nat: one NAT gateway per zone instead of one shared."
  type        = bool
  default     = false
}

variable "create_vpc_endpoints" {
  description = "VPC endpoints for every AWS API the tasks call. null (the default): all of them, except behind the network module's NAT gateway, where only the free S3 and DynamoDB gateway endpoints. true: all; false: none (your VPC has a NAT gateway and its own endpoints; not allowed with network_egress = endpoints)."
  type        = bool
  default     = null
}

variable "database_egress" {
  description = "Database sinks the tasks may reach: CIDR and TCP port each (e.g. PostgreSQL on 5432)."
  type = list(object({
    cidr = string
    port = number
  }))
  default = []
}

# ------------------------------------------------------------------------------- source

variable "source_type" {
  description = "kinesis or sqs; must match source.type in the image's pipeline file."
  type        = string
  default     = "kinesis"

  validation {
    condition     = contains(["kinesis", "sqs"], var.source_type)
    error_message = "source_type must be kinesis or sqs."
  }
}

variable "kinesis_driver" {
  description = "polling (sluice's built-in reader: one task reads every shard) or kcl (one task per shard at most, the image built with WITH_KCL=true)."
  type        = string
  default     = "polling"

  validation {
    condition     = contains(["polling", "kcl"], var.kinesis_driver)
    error_message = "kinesis_driver must be polling or kcl."
  }
}

variable "kinesis_shard_count" {
  description = "Shards of the stream (1 MB/s or 1,000 records/s in each); `sluice cost` estimates it."
  type        = number
  default     = 2
}

variable "kinesis_retention_hours" {
  description = "Hours the stream keeps records: the longest outage survived without loss."
  type        = number
  default     = 24
}

variable "create_kcl_tables" {
  description = "Create the KCL lease, worker metrics and coordinator state tables even with the polling reader (they are always created with kinesis_driver = kcl)."
  type        = bool
  default     = false
}

variable "sqs_visibility_timeout_s" {
  description = "Visibility timeout of the queue, passed to sluice as source.visibility_timeout_s too."
  type        = number
  default     = 60
}

variable "sqs_retention_seconds" {
  description = "How long the source queue keeps a message (60 to 1209600; default 4 days). The ledger keeps a message's claim this long plus a day, and staged objects of uncommitted cuts expire after it (in days, rounded up) plus 2 days."
  type        = number
  default     = 345600

  validation {
    condition     = var.sqs_retention_seconds >= 60 && var.sqs_retention_seconds <= 1209600
    error_message = "sqs_retention_seconds must be between 60 and 1209600."
  }
}

variable "sqs_max_receive_count" {
  description = "Receives before a message goes to the DLQ."
  type        = number
  default     = 5
}

variable "sqs_fifo" {
  description = "Create FIFO queues."
  type        = bool
  default     = false
}

# ------------------------------------------------------------------------------ storage

variable "bucket_name" {
  description = "Globally unique name of the data lake bucket."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the pipeline's S3 sink, with a trailing slash (examples/clickstream's sink `lake` uses prefix \"lake\"). With source_type = sqs its `_staging/` prefix gets an expiry rule and the staging permissions."
  type        = string
  default     = "lake/"

  validation {
    condition     = endswith(var.lake_prefix, "/") && length(var.lake_prefix) > 1
    error_message = "lake_prefix must be a non-empty prefix ending in a slash."
  }
}

variable "parquet_prefix" {
  description = "Key prefix of the pipeline's Parquet sink, with a trailing slash (examples/clickstream's sink `columns` uses prefix \"parquet\"). With source_type = sqs its `_staging/` prefix gets an expiry rule and the staging permissions."
  type        = string
  default     = "parquet/"

  validation {
    condition     = endswith(var.parquet_prefix, "/") && length(var.parquet_prefix) > 1
    error_message = "parquet_prefix must end with a slash."
  }
}

variable "quarantine_prefix" {
  description = "Key prefix of the quarantine sink, with a trailing slash (examples/clickstream uses prefix \"quarantine\")."
  type        = string
  default     = "quarantine/"
}

variable "quarantine_expiration_days" {
  description = "Days quarantined records are kept."
  type        = number
  default     = 90
}

variable "access_log_bucket" {
  description = "Bucket for S3 server access logs of the lake, or null."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the DynamoDB tables from deletion."
  type        = bool
  default     = true
}

variable "dynamodb_sink_table_arns" {
  description = "ARNs of DynamoDB tables the pipeline's dynamodb sinks write to."
  type        = list(string)
  default     = []
}

variable "s3_event_bucket_arns" {
  description = "ARNs of buckets whose S3 event notifications go to the SQS source queue: the tasks may read their objects, and the queue policy and the key policy let S3 deliver (source_type = sqs, standard queue). The notifications are yours to configure."
  type        = list(string)
  default     = []
}

variable "sns_topic_arns" {
  description = "ARNs of SNS topics with an SQS subscription to the source queue (source_type = sqs): the queue policy and the key policy let them deliver. The subscriptions are yours to create."
  type        = list(string)
  default     = []
}

variable "enable_efs" {
  description = "Create an EFS file system and mount it at /shared in the tasks."
  type        = bool
  default     = false
}

# -------------------------------------------------------------------------------- tasks

variable "image_digest" {
  description = "Digest (sha256:...) of the image pushed to this deployment's ECR repository; see docs/deployment.md."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; the image must be built for it."
  type        = string
  default     = "X86_64"
}

variable "consumer_command" {
  description = "Arguments of the consumer after ENTRYPOINT [\"sluice\"]; null: `run` for polling and SQS, `kcl run` (enhanced fan-out, the KCL application name, the stop timeout) for kinesis_driver = kcl."
  type        = list(string)
  default     = null
}

variable "consumer_cpu" {
  description = "Consumer task CPU units."
  type        = number
  default     = 1024
}

variable "consumer_memory" {
  description = "Consumer task memory (MiB)."
  type        = number
  default     = 2048
}

variable "health_port" {
  description = "Port of the consumer's /healthz and /readyz (SLUICE__HEALTH__PORT in the task), on 127.0.0.1 inside the task."
  type        = number
  default     = 8080
}

variable "health_check_command" {
  description = "Container health check of the consumer: `sluice health` asks /healthz on health_port and fails when the consumer stops making progress (docs/deployment.md, \"Health check\")."
  type        = list(string)
  default     = ["CMD", "sluice", "health"]
}

variable "stop_timeout_s" {
  description = "Seconds from SIGTERM to SIGKILL (max 120)."
  type        = number
  default     = 60
}

variable "min_tasks" {
  description = "Fewest consumer tasks (sqs, kcl); the polling reader always runs one."
  type        = number
  default     = 1
}

variable "max_tasks" {
  description = "Most consumer tasks (sqs, kcl; capped at the shard count for kcl)."
  type        = number
  default     = 4
}

variable "backlog_per_task_target" {
  description = "Target backlog per task of the consumer: SQS visible messages, or KCL records behind, per task (acceptable backlog seconds x records per second one task handles)."
  type        = number
  default     = 1000
}

variable "cpu_target_percent" {
  description = "Target average CPU of the consumer service."
  type        = number
  default     = 70
}

variable "fargate_spot_weight" {
  description = "Weight of Fargate Spot beside on-demand Fargate (one on-demand task is always kept); 0 disables Spot."
  type        = number
  default     = 0
}

variable "publish_backlog_metric" {
  description = "Let tasks publish BacklogPerTask themselves (grants ecs:ListTasks on the cluster); scaling uses metric math either way."
  type        = bool
  default     = false
}

variable "secrets" {
  description = "Container secrets: environment variable name -> Secrets Manager secret or SSM parameter ARN, e.g. { SLUICE__SINKS__WAREHOUSE__URL = \"arn:aws:secretsmanager:...\" }."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.secrets) : startswith(v, "arn:aws:secretsmanager:") || startswith(v, "arn:aws:ssm:")])
    error_message = "Every secret must be a Secrets Manager or SSM parameter ARN."
  }
}

variable "secret_kms_key_arns" {
  description = "KMS keys the secrets are encrypted with, if not this deployment's key."
  type        = list(string)
  default     = []
}

variable "extra_environment" {
  description = "More non-secret environment variables of the tasks (override the defaults)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Days the tasks' logs are kept."
  type        = number
  default     = 365
}

variable "batch_command" {
  description = "Arguments of the batch task after ENTRYPOINT [\"sluice\"]."
  type        = list(string)
  default     = ["run", "--config", "/app/pipeline.toml", "--until-idle"]
}

variable "batch_cpu" {
  description = "Batch task CPU units."
  type        = number
  default     = 1024
}

variable "batch_memory" {
  description = "Batch task memory (MiB)."
  type        = number
  default     = 2048
}

variable "batch_schedule_expression" {
  description = "EventBridge Scheduler expression for the batch task (e.g. \"cron(0 3 * * ? *)\"); null: no schedule."
  type        = string
  default     = null
}

variable "workflow_command" {
  description = "Arguments of the workflow task after ENTRYPOINT [\"sluice\"]: `batch workflow run` and the workflow file inside the image."
  type        = list(string)
  default     = ["batch", "workflow", "run", "/app/workflow.toml"]

  validation {
    condition     = can(regex("^batch workflow run [^ ]", join(" ", var.workflow_command)))
    error_message = "workflow_command must be [\"batch\", \"workflow\", \"run\", FILE, ...]."
  }
}

variable "workflow_schedule_expression" {
  description = "EventBridge Scheduler expression starting the workflow (the state machine, or the orchestrator task with workflow_engine = \"ecs-task\"); null: no schedule."
  type        = string
  default     = "cron(30 3 * * ? *)"
}

variable "workflow_schedule_enabled" {
  description = "Whether the workflow schedule fires. Off by default: turn it on once the image's workflow file names this deployment's runs table, bucket and topic."
  type        = bool
  default     = false
}

# ------------------------------------------------- batch orchestration (issue 23)

variable "workflow_engine" {
  description = "What runs the scheduled workflow: \"stepfunctions\" (a state machine rendered from the workflow file, the production path) or \"ecs-task\" (the sluice orchestrator task, `sluice batch workflow run`)."
  type        = string
  default     = "stepfunctions"

  validation {
    condition     = contains(["stepfunctions", "ecs-task"], var.workflow_engine)
    error_message = "workflow_engine must be \"stepfunctions\" or \"ecs-task\"."
  }
}

variable "workflow_definition_file" {
  description = "The workflow's state machine template (`sluice batch workflow render FILE --target stepfunctions --terraform-template > FILE.tftpl`); null: the example's workflow.asl.json.tftpl."
  type        = string
  default     = null
}

variable "workflow_tracing_enabled" {
  description = "X-Ray tracing of the workflow's executions."
  type        = bool
  default     = true
}

variable "enable_aws_batch" {
  description = "Create an AWS Batch queue and job definition for `sluice batch submit --launch batch` (Fargate and Fargate Spot compute environments; AWS Batch's service-linked role is created on first use)."
  type        = bool
  default     = false
}

variable "aws_batch_max_vcpus" {
  description = "Most vCPUs AWS Batch runs at once per compute environment."
  type        = number
  default     = 16
}

variable "aws_batch_fargate_spot" {
  description = "AWS Batch tries Fargate Spot first, on-demand Fargate when Spot has no capacity."
  type        = bool
  default     = true
}

# --------------------------------------------------------------------------- monitoring

variable "alarm_emails" {
  description = "Email addresses notified by the alarms."
  type        = list(string)
  default     = []
}

variable "alarm_thresholds" {
  description = "Alarm threshold overrides by id (infra/monitoring/alarms.json)."
  type        = map(number)
  default     = {}
}

variable "disabled_alarms" {
  description = "Alarm ids not to create."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------- the lake as tables

variable "lake_database_name" {
  description = "Glue database of the plain lake's tables (JSON Lines and Parquet objects, partition projection), queried by Athena."
  type        = string
  default     = "sluice_lake"
}

variable "lake_tables" {
  description = "The plain lake's tables, as `sluice validate --config FILE --ddl ROUTE --ddl-format terraform` prints them (the default: examples/clickstream's page views and purchases as JSON Lines, purchases as Parquet; tests/infra/test_terraform_lake.py keeps it equal to that output)."
  type = map(object({
    prefix      = string
    format      = string
    granularity = string
    fields      = optional(list(string), [])
    columns = list(object({
      name = string
      type = string
    }))
  }))
  default = {
    page_views = {
      prefix      = "lake/page_views"
      format      = "jsonl"
      granularity = "hour"
      fields      = []
      columns = [
        { name = "event_id", type = "string" },
        { name = "user_id", type = "string" },
        { name = "session_id", type = "string" },
        { name = "host", type = "string" },
        { name = "path", type = "string" },
        { name = "referrer_host", type = "string" },
        { name = "event_time", type = "timestamp" },
        { name = "duration_ms", type = "bigint" },
        { name = "device_os", type = "string" },
        { name = "mobile", type = "boolean" },
      ]
    }
    purchases = {
      prefix      = "lake/purchases"
      format      = "jsonl"
      granularity = "day"
      fields      = []
      columns = [
        { name = "event_id", type = "string" },
        { name = "order_id", type = "string" },
        { name = "user_id", type = "string" },
        { name = "event_time", type = "timestamp" },
        { name = "currency", type = "string" },
        { name = "item_count", type = "bigint" },
        { name = "skus", type = "array<string>" },
        { name = "total", type = "decimal(14,2)" },
      ]
    }
    purchases_parquet = {
      prefix      = "parquet/purchases"
      format      = "parquet"
      granularity = "day"
      fields      = []
      columns = [
        { name = "event_id", type = "string" },
        { name = "order_id", type = "string" },
        { name = "user_id", type = "string" },
        { name = "event_time", type = "timestamp" },
        { name = "currency", type = "string" },
        { name = "item_count", type = "bigint" },
        { name = "skus", type = "array<string>" },
        { name = "total", type = "decimal(14,2)" },
      ]
    }
  }
}

variable "iceberg_database_name" {
  description = "Glue database of the Iceberg tables the pipeline's Iceberg sink (examples/clickstream's `tables`) creates and commits to: its namespace. null: no Iceberg sink, no database, no Glue rights."
  type        = string
  default     = "sluice_tables"
}

variable "iceberg_warehouse_prefix" {
  description = "Key prefix in the lake bucket under which the Iceberg sink creates its tables (its Glue catalog's warehouse), without slashes at either end."
  type        = string
  default     = "warehouse"
}

variable "athena_results_bucket_name" {
  description = "Globally unique name of the Athena query results bucket; null: <bucket_name>-athena."
  type        = string
  default     = null
}

variable "athena_results_expiration_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 30
}
