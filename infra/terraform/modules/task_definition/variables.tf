variable "family" {
  description = "Task definition family."
  type        = string
}

variable "image" {
  description = "Image repository URL without tag or digest, e.g. the ECR module's repository_url."
  type        = string
}

variable "image_digest" {
  description = "Digest of the image to run (sha256:<64 hex>); a deploy changes only this."
  type        = string

  validation {
    condition     = can(regex("^sha256:[a-f0-9]{64}$", var.image_digest))
    error_message = "image_digest must look like sha256:<64 lowercase hex digits>."
  }
}

variable "command" {
  description = "Arguments after the image's ENTRYPOINT [\"sluice\"], e.g. [\"run\", \"--config\", \"/app/pipeline.toml\"]."
  type        = list(string)
}

variable "cpu" {
  description = "Task CPU units (256, 512, 1024, 2048, 4096, 8192, 16384)."
  type        = number
}

variable "memory" {
  description = "Task memory in MiB; must be a Fargate-valid pairing with cpu."
  type        = number
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64 (Graviton, cheaper per vCPU-hour); the image must be built for it."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "user" {
  description = "uid:gid the container runs as; the image's sluice user is 10001. Never root."
  type        = string
  default     = "10001:10001"

  validation {
    condition     = !contains(["0", "root"], split(":", var.user)[0])
    error_message = "The container must not run as root."
  }
}

variable "environment" {
  description = "Non-secret environment variables (e.g. SLUICE__SOURCE__STREAM overrides). Secrets go in `secrets`."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variable name -> Secrets Manager secret ARN (optionally :json-key::) or SSM parameter ARN, resolved by the ECS agent at start."
  type        = map(string)
  default     = {}
}

variable "health_check_command" {
  description = "Container health check command, or null for none."
  type        = list(string)
  default     = null
}

variable "health_check_start_period_s" {
  description = "Seconds after start during which failed health checks do not count."
  type        = number
  default     = 60
}

variable "stop_timeout_s" {
  description = "Seconds between SIGTERM and SIGKILL (at most 120 on Fargate); longer than sluice's shutdown.timeout_s (default 25)."
  type        = number
  default     = 60

  validation {
    condition     = var.stop_timeout_s >= 2 && var.stop_timeout_s <= 120
    error_message = "stop_timeout_s must be between 2 and 120 on Fargate."
  }
}

variable "task_role_arn" {
  description = "ARN of the role sluice's code runs with."
  type        = string
}

variable "execution_role_arn" {
  description = "ARN of the role the ECS agent uses to pull the image, write logs and read secrets."
  type        = string
}

variable "region" {
  description = "AWS region of the tasks (AWS_REGION and the log driver)."
  type        = string
}

variable "log_group_name" {
  description = "Log group of the awslogs driver."
  type        = string
}

variable "log_stream_prefix" {
  description = "Log stream prefix, e.g. consumer or batch."
  type        = string
}

variable "log_level" {
  description = "SLUICE_LOG_LEVEL of the container."
  type        = string
  default     = "INFO"
}

variable "ephemeral_storage_gib" {
  description = "Fargate ephemeral storage backing /tmp (20 is the free default; 21 to 200 is billed)."
  type        = number
  default     = 20

  validation {
    condition     = var.ephemeral_storage_gib >= 20 && var.ephemeral_storage_gib <= 200
    error_message = "ephemeral_storage_gib must be between 20 and 200."
  }
}

variable "efs" {
  description = "EFS volume to mount (file system, access point, path in the container, read-only or not), or null."
  type = object({
    file_system_id  = string
    access_point_id = string
    container_path  = string
    read_only       = bool
  })
  default = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
