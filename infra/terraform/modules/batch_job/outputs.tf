output "task_definition_arn" {
  description = "ARN of the batch task definition revision (for aws ecs run-task)."
  value       = module.task.arn
}

output "task_definition_family_arn" {
  description = "ARN of the batch task definition family, without revision (IAM: RunTask of its revisions)."
  value       = module.task.arn_without_revision
}

output "task_definition_family" {
  description = "Family of the batch task definition."
  value       = module.task.family
}

output "container_name" {
  description = "Container name to use in run-task command overrides."
  value       = module.task.container_name
}

output "schedule_arn" {
  description = "ARN of the schedule, or null when none."
  value       = try(aws_scheduler_schedule.this[0].arn, null)
}
