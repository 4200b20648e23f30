output "ecr_repository_url" {
  description = "Push the sluice image here, then set image_digest to its digest."
  value       = module.ecr.repository_url
}

output "cluster_name" {
  description = "ECS cluster of the tasks."
  value       = module.cluster.name
}

output "consumer_service_name" {
  description = "ECS service of the consumer."
  value       = module.consumer.service_name
}

output "consumer_task_range" {
  description = "Fewest and most consumer tasks after the source rules."
  value       = { min = module.consumer.min_tasks, max = module.consumer.max_tasks }
}

output "batch_task_definition_arn" {
  description = "Batch task definition, for aws ecs run-task."
  value       = module.batch.task_definition_arn
}

output "batch_task_definition_family" {
  description = "Family of the batch task definition: SLUICE_ECS_TASK_DEFINITION of the batch and workflow tasks."
  value       = module.batch.task_definition_family
}

output "workflow_task_definition_arn" {
  description = "Workflow orchestrator task definition (sluice batch workflow run), for aws ecs run-task."
  value       = module.workflow.task_definition_arn
}

output "workflow_schedule_arn" {
  description = "Schedule of the workflow task, or null when none (workflow_engine = \"stepfunctions\": see workflow_state_machine)."
  value       = module.workflow.schedule_arn
}

output "workflow_state_machine" {
  description = "The workflow's state machine (workflow_engine = \"stepfunctions\"): its ARN (aws stepfunctions start-execution --name RUN_ID), schedule and log group; null otherwise."
  value = local.step_functions ? {
    arn           = module.workflow_state_machine[0].state_machine_arn
    schedule_arn  = module.workflow_state_machine[0].schedule_arn
    log_group     = module.workflow_state_machine[0].log_group_name
    execution_url = "https://console.aws.amazon.com/states/home?region=${data.aws_region.current.name}#/statemachines/view/${module.workflow_state_machine[0].state_machine_arn}"
  } : null
}

output "aws_batch" {
  description = "AWS Batch (enable_aws_batch): SLUICE_BATCH_JOB_QUEUE and SLUICE_BATCH_JOB_DEFINITION for `sluice batch submit --launch batch`, and the policy a submitter needs; null otherwise."
  value = var.enable_aws_batch ? {
    job_queue         = module.aws_batch[0].job_queue_name
    job_definition    = module.aws_batch[0].job_definition_arn
    submit_policy_arn = module.aws_batch[0].submit_policy_arn
  } : null
}

output "stream_name" {
  description = "Kinesis stream to produce to (null for sqs)."
  value       = local.kinesis ? module.stream[0].name : null
}

output "queue_url" {
  description = "SQS queue to send to (null for kinesis)."
  value       = local.sqs ? module.queue[0].queue_url : null
}

output "dlq_name" {
  description = "Dead-letter queue, for sluice dlq inspect/redrive (null for kinesis)."
  value       = local.sqs ? module.queue[0].dlq_name : null
}

output "bucket_name" {
  description = "Data lake bucket."
  value       = module.bucket.name
}

output "checkpoint_table_name" {
  description = "DynamoDB checkpoint table."
  value       = module.tables.checkpoint_table_name
}

output "job_table_name" {
  description = "DynamoDB job idempotency table (sluice jobs --ledger-table)."
  value       = module.tables.job_table_name
}

output "runs_table_name" {
  description = "DynamoDB workflow run records table: the workflow file's runs_table."
  value       = module.tables.runs_table_name
}

output "sqs_ledger_table_name" {
  description = "DynamoDB ledger table of the SQS source's exactly-once S3 output (SLUICE__SOURCE__LEDGER_TABLE; null for kinesis)."
  value       = module.tables.sqs_ledger_table_name
}

output "sqs_ledger_table_arn" {
  description = "ARN of the SQS ledger table (null for kinesis)."
  value       = module.tables.sqs_ledger_table_arn
}

output "sqs_staging" {
  description = "Staging prefixes of the S3 sinks (empty for kinesis) and the days after which a staged object left there expires."
  value = {
    prefixes        = local.staging_prefixes
    expiration_days = local.staging_expiration_days
  }
}

output "log_group_name" {
  description = "Log group of the tasks."
  value       = module.cluster.log_group_name
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.sns_topic_arn
}

output "workflow_topic_arn" {
  description = "SNS topic failed workflow runs are published to: the workflow file's notify_topic_arn."
  value       = module.monitoring.workflow_topic_arn
}

output "task_role_arn" {
  description = "Role sluice's code runs with."
  value       = module.iam.task_role_arn
}

output "vpc_id" {
  description = "VPC of the tasks: the one given, or the one the network module created."
  value       = local.vpc_id
}

output "private_subnet_ids" {
  description = "Subnets of the tasks (aws ecs run-task --network-configuration)."
  value       = local.private_subnet_ids
}

output "task_security_group_id" {
  description = "Security group of the tasks (aws ecs run-task --network-configuration)."
  value       = aws_security_group.tasks.id
}

output "vpc_endpoint_route_tables" {
  description = "Route tables of each gateway endpoint (s3, dynamodb); empty when no endpoints are created."
  value       = local.create_endpoints ? module.endpoints[0].gateway_route_table_ids : {}
}

output "vpc_interface_endpoints" {
  description = "Services with an interface endpoint in the tasks' subnets."
  value       = local.create_endpoints ? sort(keys(module.endpoints[0].interface_endpoint_ids)) : []
}

output "lake_catalog" {
  description = "The lake as tables: the Glue database of the JSON Lines and Parquet tables and their names, the Iceberg sink's database, the Athena workgroup and its results bucket (docs/lake.md)."
  value = {
    database         = module.lake_catalog.database_name
    tables           = module.lake_catalog.table_names
    iceberg_database = module.lake_catalog.iceberg_database_name
    workgroup        = module.lake_catalog.workgroup_name
    results_bucket   = module.lake_catalog.results_bucket_name
  }
}
