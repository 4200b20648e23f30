variable "name" {
  description = "Name of the batch task family and its schedule."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the task runs in."
  type        = string
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
  description = "Arguments after ENTRYPOINT [\"sluice\"]. The default drains the source and exits; e.g. [\"batch\", \"run\", \"backfill\", \"--config\", \"/app/pipeline.toml\", \"--param\", \"bucket=...\"] runs a batch job."
  type        = list(string)
  default     = ["run", "--config", "/app/pipeline.toml", "--until-idle"]
}

variable "cpu" {
  description = "Task CPU units."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory (MiB)."
  type        = number
  default     = 2048
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; the image must be built for it."
  type        = string
  default     = "X86_64"
}

variable "environment" {
  description = "Non-secret environment variables of the container."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variable name -> Secrets Manager or SSM parameter ARN."
  type        = map(string)
  default     = {}
}

variable "stop_timeout_s" {
  description = "Seconds between SIGTERM and SIGKILL (max 120 on Fargate)."
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
  description = "ARN of the task role (shared with the consumer: same resources)."
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
  description = "Private subnets of the scheduled task."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the scheduled task."
  type        = list(string)
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression, e.g. \"cron(0 3 * * ? *)\" or \"rate(1 day)\"; null creates no schedule (start the task with aws ecs run-task)."
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
  description = "Permissions boundary of the scheduler role, if the account requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
