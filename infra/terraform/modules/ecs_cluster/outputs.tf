output "arn" {
  description = "ARN of the cluster."
  value       = aws_ecs_cluster.this.arn
}

output "name" {
  description = "Name of the cluster."
  value       = aws_ecs_cluster.this.name
}

output "log_group_name" {
  description = "Name of the log group the tasks write to."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "fargate_spot_enabled" {
  description = "Whether FARGATE_SPOT is registered on the cluster."
  value       = var.enable_fargate_spot
}
