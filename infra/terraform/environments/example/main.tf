# An example sluice deployment: one consumer service reading a Kinesis stream (or an SQS
# queue) into an S3 data lake, its batch task, a scheduled workflow, monitoring, and
# everything they need.
# docs/deployment.md walks through it from zero to a running service.

data "aws_region" "current" {}

locals {
  kinesis = var.source_type == "kinesis"
  sqs     = var.source_type == "sqs"

  # The network: the VPC, subnets and route tables given, or with vpc_id = null the
  # network module's (private subnets in two zones, endpoints-only or NAT egress).
  create_network     = var.vpc_id == null
  vpc_id             = local.create_network ? module.network[0].vpc_id : var.vpc_id
  private_subnet_ids = local.create_network ? module.network[0].private_subnet_ids : var.private_subnet_ids
  route_table_ids    = local.create_network ? module.network[0].private_route_table_ids : var.route_table_ids

  # VPC endpoints. Without a NAT gateway they are the tasks' only way to AWS, so the
  # network module's endpoints-only egress always gets all of them. Behind its NAT
  # gateway the free S3 and DynamoDB gateway endpoints are still made (lake traffic
  # skips the NAT's per-GB charge), the interface endpoints only with
  # create_vpc_endpoints = true. A VPC of your own: all, unless create_vpc_endpoints = false.
  endpoints_only      = local.create_network && var.network_egress == "endpoints"
  create_endpoints    = local.endpoints_only || var.create_vpc_endpoints != false
  interface_endpoints = local.endpoints_only || coalesce(var.create_vpc_endpoints, !local.create_network)

  # Who may deliver into the SQS source queue (queue policy and key policy alike).
  queue_sender_bucket_arns = local.sqs ? var.s3_event_bucket_arns : []
  queue_sender_topic_arns  = local.sqs ? var.sns_topic_arns : []

  # The SQS source's exactly-once ledger (issue 18): its table, and the staging prefixes of
  # the S3 sinks the consumer writes (the lake sink `lake` and the quarantine), where
  # leftovers of cuts never committed expire once no redelivery can commit them any more:
  # the queue's retention plus 2 days.
  sqs_ledger_table_name   = local.sqs ? "${var.name}-sqs-ledger" : null
  staging_prefixes        = local.sqs ? [for prefix in [var.lake_prefix, var.parquet_prefix, var.quarantine_prefix] : "${trimsuffix(prefix, "/")}/_staging/"] : []
  staging_expiration_days = ceil(var.sqs_retention_seconds / 86400) + 2

  kcl_application_name = var.kinesis_driver == "kcl" || var.create_kcl_tables ? "${var.name}-kcl" : null
  kcl                  = local.kinesis && var.kinesis_driver == "kcl"

  # `sluice run`, or for the KCL driver the MultiLangDaemon with sluice as its shard
  # processor, on the fan-out consumer created below and the lease table of this name.
  consumer_command = var.consumer_command != null ? var.consumer_command : (
    local.kcl ? [
      "kcl", "run", "--config", "/app/pipeline.toml",
      "--application-name", local.kcl_application_name,
      "--retrieval-mode", "fanout",
      "--stop-timeout-s", tostring(var.stop_timeout_s),
    ] : ["run", "--config", "/app/pipeline.toml"]
  )

  # Secrets Manager references may end in :json-key:version-stage:version-id; IAM wants
  # the secret's ARN (the first seven fields).
  secret_values      = values(var.secrets)
  secret_arns        = distinct([for v in local.secret_values : join(":", slice(split(":", v), 0, 7)) if startswith(v, "arn:aws:secretsmanager:")])
  ssm_parameter_arns = distinct([for v in local.secret_values : v if startswith(v, "arn:aws:ssm:")])

  # Overrides of the pipeline file baked into the image (SLUICE__<FIELD>__<FIELD>), so the
  # same image runs against the resources created here. The source's fields:
  source_environment = local.kinesis ? {
    SLUICE__SOURCE__STREAM           = module.stream[0].name
    SLUICE__SOURCE__CHECKPOINT_TABLE = module.tables.checkpoint_table_name
    } : {
    SLUICE__SOURCE__QUEUE                = module.queue[0].queue_name
    SLUICE__SOURCE__DLQ                  = module.queue[0].dlq_name
    SLUICE__SOURCE__VISIBILITY_TIMEOUT_S = tostring(var.sqs_visibility_timeout_s)
    SLUICE__SOURCE__LEDGER_TABLE         = module.tables.sqs_ledger_table_name
  }

  # The sinks of the example pipeline (examples/clickstream): the S3 sink `lake`, the
  # Parquet sink `columns`, the quarantine, the Iceberg sink `tables` (committing through
  # Glue here, under the bucket's warehouse prefix) and the SQLite sink `db`, which on
  # Fargate can only live on the scratch volume: a demo, not a database. Replace with your
  # pipeline's sink names.
  iceberg = var.iceberg_database_name != null
  sink_environment = merge(
    {
      SLUICE__SINKS__LAKE__BUCKET    = module.bucket.name
      SLUICE__SINKS__COLUMNS__BUCKET = module.bucket.name
      SLUICE__QUARANTINE__BUCKET     = module.bucket.name
      SLUICE__SINKS__DB__PATH        = "/tmp/sluice.db"
    },
    local.iceberg ? {
      SLUICE__SINKS__TABLES__NAMESPACE = var.iceberg_database_name
      SLUICE__SINKS__TABLES__CATALOG = jsonencode({
        type      = "glue"
        warehouse = "s3://${module.bucket.name}/${var.iceberg_warehouse_prefix}"
      })
    } : {},
  )

  environment = merge(local.source_environment, local.sink_environment, var.extra_environment)

  # The batch task definition: its family and container (the task_definition module's).
  # Named here, not read from module.batch, because the batch task's own environment
  # names it (a job message with launch = "ecs" runs in another batch task).
  batch_family    = "${var.name}-batch"
  batch_container = "sluice"
}

module "kms" {
  source = "../../modules/kms"

  name                     = var.name
  queue_sender_bucket_arns = local.queue_sender_bucket_arns
  queue_sender_topic_arns  = local.queue_sender_topic_arns
}

module "network" {
  source = "../../modules/network"
  count  = local.create_network ? 1 : 0

  name                    = var.name
  cidr_block              = var.network_cidr
  az_count                = var.network_az_count
  egress                  = var.network_egress
  one_nat_gateway_per_az  = var.network_one_nat_gateway_per_az
  kms_key_arn             = module.kms.key_arn
  flow_log_retention_days = var.log_retention_days
}

module "stream" {
  source = "../../modules/kinesis_stream"
  count  = local.kinesis ? 1 : 0

  name                           = "${var.name}-events"
  shard_count                    = var.kinesis_shard_count
  retention_hours                = var.kinesis_retention_hours
  kms_key_arn                    = module.kms.key_arn
  enhanced_fan_out_consumer_name = var.kinesis_driver == "kcl" ? local.kcl_application_name : null
}

module "queue" {
  source = "../../modules/sqs_queue"
  count  = local.sqs ? 1 : 0

  name                 = "${var.name}-events"
  fifo                 = var.sqs_fifo
  visibility_timeout_s = var.sqs_visibility_timeout_s
  retention_seconds    = var.sqs_retention_seconds
  max_receive_count    = var.sqs_max_receive_count
  kms_key_arn          = module.kms.key_arn
  sender_bucket_arns   = local.queue_sender_bucket_arns
  sender_topic_arns    = local.queue_sender_topic_arns
}

module "bucket" {
  source = "../../modules/s3_bucket"

  name                       = var.bucket_name
  kms_key_arn                = module.kms.key_arn
  quarantine_prefix          = var.quarantine_prefix
  quarantine_expiration_days = var.quarantine_expiration_days
  staging_prefixes           = local.staging_prefixes
  staging_expiration_days    = local.staging_expiration_days
  access_log_bucket          = var.access_log_bucket
}

# The lake as tables (issue 19): the JSON Lines and Parquet objects as Glue tables with
# partition projection, a database for the Iceberg sink's tables, an Athena workgroup
# whose results are encrypted in their own bucket (docs/lake.md).
module "lake_catalog" {
  source = "../../modules/lake_catalog"

  name                    = var.name
  database_name           = var.lake_database_name
  iceberg_database_name   = var.iceberg_database_name
  bucket_name             = module.bucket.name
  tables                  = var.lake_tables
  kms_key_arn             = module.kms.key_arn
  results_bucket_name     = coalesce(var.athena_results_bucket_name, "${var.bucket_name}-athena")
  results_expiration_days = var.athena_results_expiration_days
  access_log_bucket       = var.access_log_bucket
}

module "tables" {
  source = "../../modules/dynamodb_tables"

  checkpoint_table_name = "${var.name}-checkpoints"
  job_table_name        = "${var.name}-jobs"
  runs_table_name       = "${var.name}-runs"
  kcl_application_name  = local.kcl_application_name
  sqs_ledger_table_name = local.sqs_ledger_table_name
  kms_key_arn           = module.kms.key_arn
  deletion_protection   = var.deletion_protection
}

module "ecr" {
  source = "../../modules/ecr"

  name        = var.name
  kms_key_arn = module.kms.key_arn
}

module "cluster" {
  source = "../../modules/ecs_cluster"

  name                = var.name
  enable_fargate_spot = var.fargate_spot_weight > 0
  log_retention_days  = var.log_retention_days
  kms_key_arn         = module.kms.key_arn
}

# The tasks' security group: no inbound; outbound HTTPS to AWS APIs (through the VPC
# endpoints, or a NAT gateway), and to the database ports listed.
resource "aws_security_group" "tasks" {
  #checkov:skip=CKV2_AWS_5:attached to the ECS service, the batch schedule and the endpoints through module inputs, which checkov's graph does not follow
  name        = "${var.name}-tasks"
  description = "sluice tasks: no inbound traffic"
  vpc_id      = local.vpc_id

  # The network inputs fit together before anything is created in it.
  lifecycle {
    precondition {
      condition     = local.create_network || length(var.private_subnet_ids) > 0
      error_message = "With vpc_id set, private_subnet_ids must name the tasks' subnets."
    }
    precondition {
      condition     = local.create_network || !local.create_endpoints || length(var.route_table_ids) > 0
      error_message = "With vpc_id set and VPC endpoints created, route_table_ids must name the private subnets' route tables (the S3 and DynamoDB gateway endpoints attach to them)."
    }
    precondition {
      condition     = !(local.endpoints_only && var.create_vpc_endpoints == false)
      error_message = "network_egress = \"endpoints\" has no other way to AWS: create_vpc_endpoints cannot be false."
    }
  }
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "database" {
  for_each          = { for rule in var.database_egress : "${rule.cidr}:${rule.port}" => rule }
  security_group_id = aws_security_group.tasks.id
  description       = "database sink"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_egress_rule" "nfs" {
  count                        = var.enable_efs ? 1 : 0
  security_group_id            = aws_security_group.tasks.id
  description                  = "NFS to EFS"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = module.efs[0].security_group_id
}

# The S3 and DynamoDB gateway endpoints on every private route table; the interface
# endpoints of the default services, and SNS: failed workflow runs are published from the
# tasks (RunTask and DescribeTasks go through the default "ecs" endpoint).
module "endpoints" {
  source = "../../modules/vpc_endpoints"
  count  = local.create_endpoints ? 1 : 0

  name                       = var.name
  vpc_id                     = local.vpc_id
  subnet_ids                 = local.private_subnet_ids
  route_table_ids            = local.route_table_ids
  client_security_group_ids  = [aws_security_group.tasks.id]
  create_interface_endpoints = local.interface_endpoints
  extra_interface_services   = ["sns"]
}

module "efs" {
  source = "../../modules/efs"
  count  = var.enable_efs ? 1 : 0

  name                      = var.name
  vpc_id                    = local.vpc_id
  subnet_ids                = local.private_subnet_ids
  client_security_group_ids = [aws_security_group.tasks.id]
  client_role_arns          = [module.iam.task_role_arn]
  kms_key_arn               = module.kms.key_arn
}

# sqs_ledger: the SQS source's ledger table and staging prefixes, apart from the general
# table and object statements (dynamodb_table_arns does not name the ledger table).
# batch_launch, workflow_runs_table_arn, notify_topic: workflows and job messages with
# launch = "ecs" start tasks of the batch task definition (which runs with these roles),
# record runs in the runs table and publish failed runs to the workflow topic.
module "iam" {
  source = "../../modules/iam"

  name = var.name
  kinesis = local.kinesis ? {
    stream_arn           = module.stream[0].arn
    consumer_arn_pattern = module.stream[0].consumer_arn_pattern
  } : null
  sqs_queue_arns = local.sqs ? [module.queue[0].queue_arn, module.queue[0].dlq_arn] : []
  dynamodb_table_arns = concat(
    [module.tables.checkpoint_table_arn, module.tables.job_table_arn],
    module.tables.kcl_table_arns,
    var.dynamodb_sink_table_arns,
  )
  sqs_ledger = local.sqs ? {
    table_arn        = module.tables.sqs_ledger_table_arn
    staging_prefixes = local.staging_prefixes
  } : null
  s3_bucket_arn              = module.bucket.arn
  s3_read_bucket_arns        = var.s3_event_bucket_arns
  glue_iceberg_database_arns = compact([module.lake_catalog.iceberg_database_arn])
  kms_key_arn                = module.kms.key_arn
  metric_namespaces          = compact(["sluice", local.kcl_application_name])
  ecs_cluster_name           = module.cluster.name
  publish_backlog_metric     = var.publish_backlog_metric
  efs_file_system_arn        = var.enable_efs ? module.efs[0].file_system_arn : null
  ecr_repository_arn         = module.ecr.arn
  log_group_arn              = module.cluster.log_group_arn
  secret_arns                = local.secret_arns
  ssm_parameter_arns         = local.ssm_parameter_arns
  secret_kms_key_arns        = var.secret_kms_key_arns

  batch_launch = {
    cluster_arn          = module.cluster.arn
    task_definition_arns = [module.batch.task_definition_family_arn]
  }
  workflow_runs_table_arn = module.tables.runs_table_arn
  notify_topic            = { topic_arn = module.monitoring.workflow_topic_arn }
}

locals {
  efs_volume = var.enable_efs ? {
    file_system_id  = module.efs[0].file_system_id
    access_point_id = module.efs[0].access_point_id
    container_path  = "/shared"
    read_only       = false
  } : null
}

module "consumer" {
  source = "../../modules/consumer_service"

  name                    = "${var.name}-consumer"
  cluster_arn             = module.cluster.arn
  cluster_name            = module.cluster.name
  source_type             = var.source_type
  kinesis_driver          = var.kinesis_driver
  kinesis_shard_count     = var.kinesis_shard_count
  sqs_queue_name          = local.sqs ? module.queue[0].queue_name : ""
  image                   = module.ecr.repository_url
  image_digest            = var.image_digest
  command                 = local.consumer_command
  cpu                     = var.consumer_cpu
  memory                  = var.consumer_memory
  cpu_architecture        = var.cpu_architecture
  environment             = local.environment
  secrets                 = var.secrets
  health_port             = var.health_port
  health_check_command    = var.health_check_command
  stop_timeout_s          = var.stop_timeout_s
  efs                     = local.efs_volume
  task_role_arn           = module.iam.task_role_arn
  execution_role_arn      = module.iam.execution_role_arn
  region                  = data.aws_region.current.name
  log_group_name          = module.cluster.log_group_name
  subnet_ids              = local.private_subnet_ids
  security_group_ids      = [aws_security_group.tasks.id]
  min_tasks               = var.min_tasks
  max_tasks               = var.max_tasks
  backlog_per_task_target = var.backlog_per_task_target
  cpu_target_percent      = var.cpu_target_percent
  metrics_service         = var.pipeline_name
  fargate_spot_weight     = var.fargate_spot_weight
}

# Where `sluice batch workflow run` (the units of launch = "ecs" steps) and `sluice jobs`
# (job messages with launch = "ecs") start tasks: the batch task definition, in this
# cluster, subnets and security group (consumer/ecs.py reads SLUICE_ECS_*). The batch and
# workflow tasks get them; the consumer launches nothing.
locals {
  ecs_launch_environment = {
    SLUICE_ECS_CLUSTER          = module.cluster.arn
    SLUICE_ECS_TASK_DEFINITION  = local.batch_family
    SLUICE_ECS_CONTAINER        = local.batch_container
    SLUICE_ECS_SUBNETS          = join(",", local.private_subnet_ids)
    SLUICE_ECS_SECURITY_GROUPS  = aws_security_group.tasks.id
    SLUICE_ECS_ASSIGN_PUBLIC_IP = "false"
    SLUICE_ECS_LAUNCH_TYPE      = "FARGATE"
  }
  # The workflow file's deployment-specific fields (batch_jobs/workflow_config.py), for the
  # orchestrator and for its units, which report into the same run record.
  workflow_environment = {
    SLUICE_WORKFLOW__RUNS_TABLE       = module.tables.runs_table_name
    SLUICE_WORKFLOW__NOTIFY_TOPIC_ARN = module.monitoring.workflow_topic_arn
    SLUICE_WORKFLOW__BUCKET           = module.bucket.name
  }
  batch_environment = merge(
    local.source_environment,
    local.sink_environment,
    local.ecs_launch_environment,
    local.workflow_environment,
    var.extra_environment,
  )
}

module "batch" {
  source = "../../modules/batch_job"

  name                = local.batch_family
  cluster_arn         = module.cluster.arn
  image               = module.ecr.repository_url
  image_digest        = var.image_digest
  command             = var.batch_command
  cpu                 = var.batch_cpu
  memory              = var.batch_memory
  cpu_architecture    = var.cpu_architecture
  environment         = local.batch_environment
  secrets             = var.secrets
  stop_timeout_s      = var.stop_timeout_s
  efs                 = local.efs_volume
  task_role_arn       = module.iam.task_role_arn
  execution_role_arn  = module.iam.execution_role_arn
  region              = data.aws_region.current.name
  log_group_name      = module.cluster.log_group_name
  subnet_ids          = local.private_subnet_ids
  security_group_ids  = [aws_security_group.tasks.id]
  schedule_expression = var.batch_schedule_expression
}

# The workflow orchestrator task: `sluice batch workflow run /app/workflow.toml` runs the
# workflow file baked into the image, its units inline in this task or, for launch =
# "ecs", each as a task of the batch task definition. The runs table, topic and bucket
# come from SLUICE_WORKFLOW__* (local.workflow_environment). It is scheduled only with
# workflow_engine = "ecs-task"; with "stepfunctions" (the default) the state machine
# below runs the same file and this task definition stays for a run by hand.
module "workflow" {
  source = "../../modules/batch_job"

  name                = "${var.name}-workflow"
  cluster_arn         = module.cluster.arn
  image               = module.ecr.repository_url
  image_digest        = var.image_digest
  command             = var.workflow_command
  cpu                 = var.batch_cpu
  memory              = var.batch_memory
  cpu_architecture    = var.cpu_architecture
  environment         = local.batch_environment
  secrets             = var.secrets
  stop_timeout_s      = var.stop_timeout_s
  efs                 = local.efs_volume
  task_role_arn       = module.iam.task_role_arn
  execution_role_arn  = module.iam.execution_role_arn
  region              = data.aws_region.current.name
  log_group_name      = module.cluster.log_group_name
  subnet_ids          = local.private_subnet_ids
  security_group_ids  = [aws_security_group.tasks.id]
  schedule_expression = local.step_functions ? null : var.workflow_schedule_expression
  schedule_enabled    = var.workflow_schedule_enabled
}

# ------------------------------------------------- batch orchestration (issue 23)

locals {
  step_functions = var.workflow_engine == "stepfunctions"
}

# The workflow file as a Step Functions state machine (the production path, docs/
# workflows.md): workflow.asl.json.tftpl is examples/clickstream/workflow.toml rendered by
# `sluice batch workflow render ... --target stepfunctions --terraform-template`; each unit
# is a task of the batch task definition (same image, roles, network). Scheduled, paused
# until workflow_schedule_enabled, like the orchestrator task it replaces.
module "workflow_state_machine" {
  source = "../../modules/step_functions_workflow"
  count  = local.step_functions ? 1 : 0

  name                       = "${var.name}-workflow"
  definition_file            = var.workflow_definition_file != null ? var.workflow_definition_file : "${path.module}/workflow.asl.json.tftpl"
  cluster_arn                = module.cluster.arn
  task_definition_arn        = module.batch.task_definition_arn
  task_definition_family_arn = module.batch.task_definition_family_arn
  container_name             = module.batch.container_name
  subnet_ids                 = local.private_subnet_ids
  security_group_ids         = [aws_security_group.tasks.id]
  task_role_arn              = module.iam.task_role_arn
  execution_role_arn         = module.iam.execution_role_arn
  runs_table_name            = module.tables.runs_table_name
  runs_table_arn             = module.tables.runs_table_arn
  notify_topic_arn           = module.monitoring.workflow_topic_arn
  kms_key_arn                = module.kms.key_arn
  log_retention_days         = var.log_retention_days
  tracing_enabled            = var.workflow_tracing_enabled
  schedule_expression        = var.workflow_schedule_expression
  schedule_enabled           = var.workflow_schedule_enabled
}

# AWS Batch for large fan-outs (`sluice batch submit JOB --launch batch --parts N`): the
# same image and roles as the ECS tasks, in the same subnets and security group.
module "aws_batch" {
  source = "../../modules/aws_batch"
  count  = var.enable_aws_batch ? 1 : 0

  name               = "${var.name}-batch"
  image              = module.ecr.repository_url
  image_digest       = var.image_digest
  vcpu               = var.batch_cpu / 1024
  memory_mib         = var.batch_memory
  cpu_architecture   = var.cpu_architecture
  environment        = local.batch_environment
  secrets            = var.secrets
  task_role_arn      = module.iam.task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  region             = data.aws_region.current.name
  log_group_name     = module.cluster.log_group_name
  subnet_ids         = local.private_subnet_ids
  security_group_ids = [aws_security_group.tasks.id]
  max_vcpus          = var.aws_batch_max_vcpus
  fargate_spot       = var.aws_batch_fargate_spot
}

module "monitoring" {
  source = "../../modules/monitoring"

  name             = var.name
  region           = data.aws_region.current.name
  source_type      = var.source_type
  service_name     = var.pipeline_name
  stream_name      = local.kinesis ? module.stream[0].name : ""
  queue_name       = local.sqs ? module.queue[0].queue_name : ""
  dlq_name         = local.sqs ? module.queue[0].dlq_name : ""
  cluster_name     = module.cluster.name
  ecs_service_name = module.consumer.service_name
  alarm_thresholds = var.alarm_thresholds
  disabled_alarms  = var.disabled_alarms
  alarm_emails     = var.alarm_emails
  kms_key_arn      = module.kms.key_arn

  create_workflow_topic = true
}
