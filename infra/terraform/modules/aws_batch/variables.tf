variable "name" {
  description = "Name of the job queue, the job definition and the submit policy."
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
  description = "Default arguments after ENTRYPOINT [\"sluice\"] (drain the source and exit); `sluice batch submit JOB --launch batch` replaces them with the job's."
  type        = list(string)
  default     = ["run", "--config", "/app/pipeline.toml", "--until-idle"]
}

variable "vcpu" {
  description = "vCPUs of each job (Fargate: 0.25, 0.5, 1, 2, 4, 8 or 16)."
  type        = number
  default     = 1
}

variable "memory_mib" {
  description = "Memory of each job (MiB; must fit the vCPUs on Fargate)."
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

variable "log_level" {
  description = "SLUICE_LOG_LEVEL."
  type        = string
  default     = "INFO"
}

variable "ephemeral_storage_gib" {
  description = "Fargate ephemeral storage behind /tmp (21 to 200; 20 free when null)."
  type        = number
  default     = null
}

variable "task_role_arn" {
  description = "Role the job's code runs with: the ECS task role (the same resources)."
  type        = string
}

variable "execution_role_arn" {
  description = "Role that pulls the image, writes logs and reads the secrets."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "log_group_name" {
  description = "Log group of the jobs (the ECS tasks' group)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the jobs."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the jobs."
  type        = list(string)
}

variable "max_vcpus" {
  description = "Most vCPUs each compute environment runs at once: parts beyond wait in the queue."
  type        = number
  default     = 16
}

variable "fargate_spot" {
  description = "Try Fargate Spot first (up to 70 percent cheaper; a reclaimed job is retried), Fargate when Spot has no capacity."
  type        = bool
  default     = true
}

variable "retry_attempts" {
  description = "Attempts of each job (each array child), first included: AWS Batch's retry strategy."
  type        = number
  default     = 2

  validation {
    condition     = var.retry_attempts >= 1 && var.retry_attempts <= 10
    error_message = "retry_attempts must be 1 to 10."
  }
}

variable "attempt_timeout_s" {
  description = "Longest an attempt may run (at least 60)."
  type        = number
  default     = 21600
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
