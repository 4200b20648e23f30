output "checkpoint_table_arn" {
  description = "ARN of the checkpoint table."
  value       = aws_dynamodb_table.checkpoints.arn
}

output "checkpoint_table_name" {
  description = "Name of the checkpoint table."
  value       = aws_dynamodb_table.checkpoints.name
}

output "job_table_arn" {
  description = "ARN of the job idempotency table."
  value       = aws_dynamodb_table.jobs.arn
}

output "job_table_name" {
  description = "Name of the job idempotency table."
  value       = aws_dynamodb_table.jobs.name
}

output "runs_table_arn" {
  description = "ARN of the workflow run records table."
  value       = aws_dynamodb_table.runs.arn
}

output "runs_table_name" {
  description = "Name of the workflow run records table (the workflow file's `runs_table`)."
  value       = aws_dynamodb_table.runs.name
}

output "kcl_table_arns" {
  description = "ARNs of the KCL lease, worker metrics and coordinator state tables (empty without a KCL application)."
  value = concat(
    aws_dynamodb_table.kcl_leases[*].arn,
    [for table in aws_dynamodb_table.kcl : table.arn],
  )
}

output "sqs_ledger_table_arn" {
  description = "ARN of the SQS exactly-once ledger table, or null when none is created."
  value       = one(aws_dynamodb_table.sqs_ledger[*].arn)
}

output "sqs_ledger_table_name" {
  description = "Name of the SQS exactly-once ledger table, or null when none is created."
  value       = one(aws_dynamodb_table.sqs_ledger[*].name)
}
