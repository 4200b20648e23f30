output "task_role_arn" {
  description = "ARN of the task role (sluice's code)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role."
  value       = aws_iam_role.task.name
}

output "execution_role_arn" {
  description = "ARN of the execution role (the ECS agent)."
  value       = aws_iam_role.execution.arn
}

output "task_policy_json" {
  description = "The task role's policy document, for review."
  value       = data.aws_iam_policy_document.task.json
}
