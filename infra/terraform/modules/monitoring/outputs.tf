output "sns_topic_arn" {
  description = "ARN of the SNS topic the alarms notify; subscribe a pager or chat integration to it."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_names" {
  description = "Names of the alarms created."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}

output "workflow_topic_arn" {
  description = "ARN of the SNS topic failed workflow runs are published to (the workflow file's notify_topic_arn), or null when none."
  value       = try(aws_sns_topic.workflow_failures[0].arn, null)
}
