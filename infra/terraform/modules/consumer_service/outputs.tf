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
  description = "Names of the scaling policies: target tracking on the backlog, CPU and memory, and the surge step policy (empty when the task count is fixed)."
  value = concat(
    aws_appautoscaling_policy.backlog_per_task[*].name,
    aws_appautoscaling_policy.kinesis_backlog[*].name,
    aws_appautoscaling_policy.cpu[*].name,
    aws_appautoscaling_policy.memory[*].name,
    aws_appautoscaling_policy.backlog_surge[*].name,
  )
}

output "surge_alarm_name" {
  description = "The one-datapoint alarm of the surge step policy (null when there is none)."
  value       = one(concat(aws_cloudwatch_metric_alarm.kinesis_surge[*].alarm_name, aws_cloudwatch_metric_alarm.sqs_surge[*].alarm_name))
}
