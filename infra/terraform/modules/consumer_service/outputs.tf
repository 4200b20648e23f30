output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN of the task definition revision the service runs."
  value       = module.task.arn
}

output "min_tasks" {
  description = "Fewest tasks after the source rules (1 for the polling reader)."
  value       = local.min_tasks
}

output "max_tasks" {
  description = "Most tasks after the source rules (1 for the polling reader, at most the shard count for KCL)."
  value       = local.max_tasks
}

output "scaling_policy_names" {
  description = "Names of the target-tracking policies (empty when the task count is fixed)."
  value = concat(
    aws_appautoscaling_policy.backlog_per_task[*].name,
    aws_appautoscaling_policy.cpu[*].name,
  )
}
