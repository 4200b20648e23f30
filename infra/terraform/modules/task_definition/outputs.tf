output "arn" {
  description = "ARN of the task definition revision."
  value       = aws_ecs_task_definition.this.arn
}

output "arn_without_revision" {
  description = "ARN of the task definition family (no revision)."
  value       = aws_ecs_task_definition.this.arn_without_revision
}

output "family" {
  description = "Task definition family."
  value       = aws_ecs_task_definition.this.family
}

output "container_name" {
  description = "Name of the sluice container (for overrides)."
  value       = local.container_name
}
