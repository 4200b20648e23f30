output "state_machine_arn" {
  description = "ARN of the workflow's state machine: start a run with aws stepfunctions start-execution --state-machine-arn ARN --name RUN_ID."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "definition" {
  description = "The state machine's definition as deployed (the template filled in)."
  value       = local.definition
}

output "role_arn" {
  description = "ARN of the state machine's execution role."
  value       = aws_iam_role.state_machine.arn
}

output "policy_json" {
  description = "The execution role's policy document, for review."
  value       = data.aws_iam_policy_document.state_machine.json
}

output "log_group_name" {
  description = "Log group of the executions."
  value       = aws_cloudwatch_log_group.this.name
}

output "schedule_arn" {
  description = "ARN of the schedule, or null when none."
  value       = try(aws_scheduler_schedule.this[0].arn, null)
}
