variable "name" {
  description = "Name prefix of the dashboard, the alarms and the SNS topic."
  type        = string
}

variable "region" {
  description = "AWS region shown by the dashboard's widgets."
  type        = string
}

variable "source_type" {
  description = "kinesis or sqs: selects the alarms that apply."
  type        = string

  validation {
    condition     = contains(["kinesis", "sqs"], var.source_type)
    error_message = "source_type must be kinesis or sqs."
  }
}

variable "service_name" {
  description = "Value of sluice's `service` metric dimension: the pipeline's name (or metrics.service)."
  type        = string
}

variable "stream_name" {
  description = "Kinesis stream name (the `source` dimension for kinesis)."
  type        = string
  default     = ""
}

variable "queue_name" {
  description = "SQS source queue name (the `source` dimension for sqs)."
  type        = string
  default     = ""
}

variable "dlq_name" {
  description = "SQS dead-letter queue name."
  type        = string
  default     = ""
}

variable "cluster_name" {
  description = "ECS cluster name (Container Insights dimension)."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service name of the consumer."
  type        = string
}

variable "alarm_thresholds" {
  description = "Per-alarm threshold overrides by alarm id (see infra/monitoring/alarms.json), e.g. { \"iterator-age\" = 60000 }."
  type        = map(number)
  default     = {}
}

variable "disabled_alarms" {
  description = "Alarm ids not to create."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the alarm topic, and to the workflow topic if created (each must confirm)."
  type        = list(string)
  default     = []
}

variable "create_workflow_topic" {
  description = "Create the SNS topic failed workflow runs are published to (`<name>-workflow-failures`, alarm_emails subscribed)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the SNS topics."
  type        = string
}

variable "definitions_dir" {
  description = "Folder holding dashboard.json and alarms.json; null uses infra/monitoring of this repo."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
