variable "name" {
  description = "Name of the service and its task definition family."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster."
  type        = string
}

variable "cluster_name" {
  description = "Name of the ECS cluster (autoscaling resource id, Container Insights dimension)."
  type        = string
}

variable "source_type" {
  description = "What the consumer reads: kinesis or sqs (must match source.type in the image's pipeline file)."
  type        = string

  validation {
    condition     = contains(["kinesis", "sqs"], var.source_type)
    error_message = "source_type must be kinesis or sqs."
  }
}

variable "kinesis_driver" {
  description = "polling: sluice's built-in single-worker reader (one task). kcl: the KCL MultiLangDaemon, one worker per task, up to one task per shard (`sluice kcl run`, the WITH_KCL=true image)."
  type        = string
  default     = "polling"

  validation {
    condition     = contains(["polling", "kcl"], var.kinesis_driver)
    error_message = "kinesis_driver must be polling or kcl."
  }
}

variable "kinesis_shard_count" {
  description = "Shards of the stream: caps the task count on the KCL path. Ignored for sqs."
  type        = number
  default     = 1
}

variable "sqs_queue_name" {
  description = "Name of the source queue, for the BacklogPerTask metric math. Ignored for kinesis."
  type        = string
  default     = ""
}

variable "image" {
  description = "Image repository URL without tag or digest."
  type        = string
}

variable "image_digest" {
  description = "Digest of the image to run (sha256:...)."
  type        = string
}

variable "command" {
  description = "Arguments after ENTRYPOINT [\"sluice\"]."
  type        = list(string)
  default     = ["run", "--config", "/app/pipeline.toml"]
}

variable "cpu" {
  description = "Task CPU units; sluice's pipeline core runs on one core, so 1024 is the natural unit."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory (MiB); buffers hold up to buffer.max_bytes per route and partition."
  type        = number
  default     = 2048
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; the image must be built for it."
  type        = string
  default     = "X86_64"
}

variable "environment" {
  description = "Non-secret environment variables of the container (SLUICE__... overrides, AWS settings)."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variable name -> Secrets Manager or SSM parameter ARN."
  type        = map(string)
  default     = {}
}

variable "health_port" {
  description = "Port of sluice's /healthz and /readyz in the task, set as SLUICE__HEALTH__PORT (`sluice run` and `sluice kcl run` serve them there, on 127.0.0.1)."
  type        = number
  default     = 8080

  validation {
    condition     = var.health_port >= 1 && var.health_port <= 65535
    error_message = "health_port must be a TCP port (1 to 65535)."
  }
}

variable "health_check_command" {
  description = "Container health check. The default, `sluice health`, asks http://127.0.0.1:$SLUICE__HEALTH__PORT/healthz inside the container and fails when the consumer stops making progress (docs/deployment.md, \"Health check\")."
  type        = list(string)
  default     = ["CMD", "sluice", "health"]
}

variable "health_check_start_period_s" {
  description = "Seconds after start during which failed health checks do not count."
  type        = number
  default     = 60
}

variable "stop_timeout_s" {
  description = "Seconds between SIGTERM and SIGKILL (max 120 on Fargate; Spot gives 120 s notice)."
  type        = number
  default     = 60
}

variable "log_level" {
  description = "SLUICE_LOG_LEVEL."
  type        = string
  default     = "INFO"
}

variable "ephemeral_storage_gib" {
  description = "Fargate ephemeral storage behind /tmp (20 free, up to 200)."
  type        = number
  default     = 20
}

variable "efs" {
  description = "EFS volume to mount, or null."
  type = object({
    file_system_id  = string
    access_point_id = string
    container_path  = string
    read_only       = bool
  })
  default = null
}

variable "task_role_arn" {
  description = "ARN of the task role."
  type        = string
}

variable "execution_role_arn" {
  description = "ARN of the execution role."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "log_group_name" {
  description = "Log group of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks."
  type        = list(string)
}

variable "min_tasks" {
  description = "Fewest tasks (sqs and kcl); the polling reader always runs exactly one."
  type        = number
  default     = 1

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks must be at least 1: target tracking cannot scale out from zero tasks."
  }
}

variable "max_tasks" {
  description = "Most tasks (sqs and kcl); on the KCL path capped at kinesis_shard_count."
  type        = number
  default     = 4
}

variable "backlog_per_task_target" {
  description = "Target backlog per task: SQS visible messages per running task, or (KCL) KinesisRecordsBehind per task. Acceptable backlog in seconds times the records (messages) one task handles a second."
  type        = number
  default     = 1000
}

variable "backlog_surge_per_task" {
  description = "Backlog per task that adds tasks at once (the surge step policy, on one 10 s datapoint for KCL, 60 s for SQS): at least twice backlog_per_task_target, and above what one task reads during a KCL lease hand-over (about 30 s of its work). Default: 30 s at 2,000 records/s."
  type        = number
  default     = 60000
}

variable "memory_target_percent" {
  description = "Target average memory utilization; this policy only scales out (memory does not fall as tasks are added)."
  type        = number
  default     = 80
}

variable "utilization_resolution_s" {
  description = "Period of the CPU and memory policies' datapoints: 60, or 20 for ECS high-resolution metrics, which the service's monitoring configuration must have turned on first (docs/deployment.md)."
  type        = number
  default     = 60

  validation {
    condition     = contains([20, 60], var.utilization_resolution_s)
    error_message = "utilization_resolution_s must be 20 or 60."
  }
}

variable "metrics_service" {
  description = "Value of sluice's `service` metric dimension (the pipeline's name, or metrics.service): the KCL service scales on its KinesisRecordsBehind. Ignored for sqs and the polling reader."
  type        = string
  default     = ""
}

variable "metrics_namespace" {
  description = "sluice's metric namespace (metrics.namespace)."
  type        = string
  default     = "sluice"
}

variable "cpu_target_percent" {
  description = "Target average CPU utilization of the service."
  type        = number
  default     = 70
}

variable "scale_in_cooldown_s" {
  description = "Seconds after a scale-in before another."
  type        = number
  default     = 300
}

variable "scale_out_cooldown_s" {
  description = "Seconds after a scale-out before another."
  type        = number
  default     = 60
}

variable "fargate_weight" {
  description = "Weight of on-demand FARGATE beyond its base of one task (used when fargate_spot_weight > 0)."
  type        = number
  default     = 1
}

variable "fargate_spot_weight" {
  description = "Weight of FARGATE_SPOT in the capacity provider strategy; 0 runs everything on demand. The cluster must have Spot enabled."
  type        = number
  default     = 0
}

variable "wait_for_steady_state" {
  description = "Make `terraform apply` wait until the deployment is steady (and fail if the circuit breaker rolls back)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
