output "job_queue_arn" {
  description = "ARN of the job queue (SLUICE_BATCH_JOB_QUEUE)."
  value       = aws_batch_job_queue.this.arn
}

output "job_queue_name" {
  description = "Name of the job queue."
  value       = aws_batch_job_queue.this.name
}

output "job_definition_arn" {
  description = "ARN (with revision) of the job definition (SLUICE_BATCH_JOB_DEFINITION)."
  value       = aws_batch_job_definition.this.arn
}

output "job_definition_name" {
  description = "Name of the job definition: its latest revision."
  value       = aws_batch_job_definition.this.name
}

output "submit_policy_arn" {
  description = "Managed policy to attach to whoever runs `sluice batch submit --launch batch` and `sluice batch status --aws-batch`."
  value       = aws_iam_policy.submit.arn
}

output "submit_policy_json" {
  description = "The submit policy's document, for review."
  value       = data.aws_iam_policy_document.submit.json
}
