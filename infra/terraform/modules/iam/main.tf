# Two roles per sluice deployment:
#
# - the task role, assumed by sluice's code: only the API actions sluice calls, each on
#   the ARNs of this deployment's resources (tests/infra/test_terraform_iam.py checks it);
# - the execution role, assumed by the ECS agent: pull the image, write logs, read the
#   secrets named in the task definition. The code never gets these rights.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # DynamoDB Query on an index names the index ARN (KCL queries LeaseOwnerToLeaseKeyIndex).
  dynamodb_resources = concat(
    var.dynamodb_table_arns,
    [for arn in var.dynamodb_table_arns : "${arn}/index/*"],
  )
  sqs_enabled   = length(var.sqs_queue_arns) > 0
  s3_read_extra = length(var.s3_read_bucket_arns) > 0
  secret_kms    = concat([var.kms_key_arn], var.secret_kms_key_arns)

  # The roles RunTask hands to ECS for a batch task: by default this module's own, which
  # the batch task definitions of the example use.
  batch_pass_roles = var.batch_launch == null ? [] : (
    var.batch_launch.pass_role_arns != null ? var.batch_launch.pass_role_arns : [
      aws_iam_role.task.arn,
      aws_iam_role.execution.arn,
    ]
  )
  # The data key, and the notification topic's if it is another customer-managed key.
  notify_kms = try(var.notify_topic.kms_key_arn, null) == null ? [] : [var.notify_topic.kms_key_arn]
  data_kms   = distinct(concat([var.kms_key_arn], local.notify_kms))
}

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy guard: only ECS acting for this account may assume the roles.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# ---------------------------------------------------------------------------- task role

data "aws_iam_policy_document" "task" {
  # The polling reader: ListShards, GetShardIterator, GetRecords. The KCL path adds
  # DescribeStreamSummary and, with enhanced fan-out, DescribeStreamConsumer and
  # SubscribeToShard on the stream's consumers.
  dynamic "statement" {
    for_each = var.kinesis == null ? [] : [var.kinesis]

    content {
      sid = "KinesisRead"
      actions = [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
      ]
      resources = [statement.value.stream_arn]
    }
  }

  dynamic "statement" {
    for_each = var.kinesis == null ? [] : [var.kinesis]

    content {
      sid       = "KinesisFanOut"
      actions   = ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"]
      resources = [statement.value.consumer_arn_pattern]
    }
  }

  # Checkpoints (GetItem, UpdateItem), the job ledger (PutItem, GetItem, UpdateItem,
  # DeleteItem), DynamoDB sinks (BatchWriteItem, PutItem), KCL leases (Scan, Query and the
  # item operations; DescribeTable at start).
  statement {
    sid = "DynamoDbItems"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = local.dynamodb_resources
  }

  # S3 sinks and the quarantine write objects; replays and the S3 event source read them.
  statement {
    sid       = "S3Objects"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${var.s3_bucket_arn}/*"]
  }

  statement {
    sid       = "S3List"
    actions   = ["s3:ListBucket"]
    resources = [var.s3_bucket_arn]
  }

  # Buckets named by S3 event notifications on the SQS source (read only).
  dynamic "statement" {
    for_each = local.s3_read_extra ? [1] : []

    content {
      sid       = "S3EventObjectsRead"
      actions   = ["s3:GetObject"]
      resources = [for arn in var.s3_read_bucket_arns : "${arn}/*"]
    }
  }

  # The SQS source (receive, heartbeat, delete), sluice's own DLQ moves and
  # `dlq redrive` (SendMessage), queue look-ups by name (GetQueueUrl) and the redrive
  # policy read (GetQueueAttributes).
  dynamic "statement" {
    for_each = local.sqs_enabled ? [1] : []

    content {
      sid = "SqsQueues"
      actions = [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ]
      resources = var.sqs_queue_arns
    }
  }

  # The SQS source's exactly-once ledger (issue 18): a conditional claim of each message
  # and the cut's item (PutItem), lease renewals, the commit and aborts (UpdateItem),
  # dropping claims that do not ride a cut (DeleteItem), reading a claim or a dead
  # consumer's cut back (GetItem). Nothing else on the table: no Scan, no Query, no batch
  # writes.
  dynamic "statement" {
    for_each = var.sqs_ledger == null ? [] : [var.sqs_ledger]

    content {
      sid = "SqsLedgerItems"
      actions = [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]
      resources = [statement.value.table_arn]
    }
  }

  # The S3 sinks stage a cut's objects under <prefix>/_staging/<cut id>/, copy them to
  # their final keys after the commit (GetObject on the staged source; the PutObject on the
  # final key is S3Objects') and delete them; only under the staging prefixes.
  dynamic "statement" {
    for_each = var.sqs_ledger == null ? [] : [var.sqs_ledger]

    content {
      sid       = "SqsLedgerStaging"
      actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
      resources = [for prefix in statement.value.staging_prefixes : "${var.s3_bucket_arn}/${prefix}*"]
    }
  }

  # A cut lists its staged objects (ListObjectsV2, once per S3 sink; recovery too):
  # ListBucket on the bucket, only for keys under the staging prefixes.
  dynamic "statement" {
    for_each = var.sqs_ledger == null ? [] : [var.sqs_ledger]

    content {
      sid       = "SqsLedgerStagingList"
      actions   = ["s3:ListBucket"]
      resources = [var.s3_bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [for prefix in statement.value.staging_prefixes : "${prefix}*"]
      }
    }
  }

  # The stream, queues, bucket, tables and SNS topics are encrypted with this key (and the
  # notification topic perhaps with its own).
  statement {
    sid       = "KmsData"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.data_kms
  }

  # PutMetricData has no resource-level permissions: AWS requires "*". The namespace
  # condition limits it to sluice's namespace (and KCL's, which is its application name).
  statement {
    sid       = "CloudWatchMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = var.metric_namespaces
    }
  }

  # ECS task scale-in protection through the agent endpoint ($ECS_AGENT_URI), held while a
  # job message or batch part runs: the agent calls these with the task role.
  dynamic "statement" {
    for_each = var.ecs_cluster_name == null ? [] : [var.ecs_cluster_name]

    content {
      sid     = "EcsTaskProtection"
      actions = ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"]
      resources = [
        "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${statement.value}/*",
      ]
    }
  }

  # A task that publishes BacklogPerTask itself counts the service's running tasks.
  # ListTasks takes no task ARN; the cluster condition scopes it.
  dynamic "statement" {
    for_each = var.publish_backlog_metric && var.ecs_cluster_name != null ? [1] : []

    content {
      sid       = "EcsListServiceTasks"
      actions   = ["ecs:ListTasks"]
      resources = ["*"]

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values = [
          "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/${var.ecs_cluster_name}",
        ]
      }
    }
  }

  # Launching batch tasks (consumer/ecs.py): workflow units with launch = "ecs" and job
  # messages with launch = "ecs" start a task of a batch task definition with its command
  # overridden. RunTask of any revision of these families, in this cluster only.
  dynamic "statement" {
    for_each = var.batch_launch == null ? [] : [var.batch_launch]

    content {
      sid       = "EcsRunBatchTasks"
      actions   = ["ecs:RunTask"]
      resources = [for family in statement.value.task_definition_arns : "${family}:*"]

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [statement.value.cluster_arn]
      }
    }
  }

  # The workflow waits for its unit tasks to stop: DescribeTasks on the cluster's tasks.
  dynamic "statement" {
    for_each = var.batch_launch == null ? [] : [var.batch_launch]

    content {
      sid       = "EcsDescribeBatchTasks"
      actions   = ["ecs:DescribeTasks"]
      resources = ["${replace(statement.value.cluster_arn, ":cluster/", ":task/")}/*"]

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [statement.value.cluster_arn]
      }
    }
  }

  # RunTask passes the task definition's task and execution roles to ECS. A RunTask
  # override may name other roles: only these pass, and only to ECS tasks.
  dynamic "statement" {
    for_each = var.batch_launch == null ? [] : [var.batch_launch]

    content {
      sid       = "PassBatchTaskRoles"
      actions   = ["iam:PassRole"]
      resources = local.batch_pass_roles

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }

  # Workflow run records (batch_jobs/runrecord.py): conditional PutItem and UpdateItem,
  # consistent Query of a run's items; no Scan, no DeleteItem.
  dynamic "statement" {
    for_each = var.workflow_runs_table_arn == null ? [] : [var.workflow_runs_table_arn]

    content {
      sid = "WorkflowRunRecords"
      actions = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
      ]
      resources = [statement.value]
    }
  }

  # A failed workflow run is published to the workflow's notify_topic_arn.
  dynamic "statement" {
    for_each = var.notify_topic == null ? [] : [var.notify_topic]

    content {
      sid       = "WorkflowNotify"
      actions   = ["sns:Publish"]
      resources = [statement.value.topic_arn]
    }
  }

  # The Iceberg sink (issue 19) commits through pyiceberg's Glue catalog: it reads the
  # database and its tables, creates a route's table the first time and updates the
  # table's metadata pointer at every commit (conditional on its version). The data and
  # metadata files are objects of the lake bucket (S3Objects, S3List above).
  dynamic "statement" {
    for_each = length(var.glue_iceberg_database_arns) > 0 ? [var.glue_iceberg_database_arns] : []

    content {
      sid = "GlueIcebergTables"
      actions = [
        "glue:CreateTable",
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:UpdateTable",
      ]
      resources = concat(
        ["arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"],
        statement.value,
        [for arn in statement.value : "${replace(arn, ":database/", ":table/")}/*"],
      )
    }
  }

  dynamic "statement" {
    for_each = var.efs_file_system_arn == null ? [] : [var.efs_file_system_arn]

    content {
      sid       = "EfsMount"
      actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "task" {
  name                 = "${var.name}-task"
  description          = "sluice code: read the source, write the sinks, keep checkpoints"
  assume_role_policy   = data.aws_iam_policy_document.assume_ecs_tasks.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "task" {
  name   = "sluice"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ----------------------------------------------------------------------- execution role

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permissions: AWS requires "*".
  statement {
    sid       = "EcrToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPull"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [1] : []

    content {
      sid       = "Secrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? [1] : []

    content {
      sid       = "Parameters"
      actions   = ["ssm:GetParameters"]
      resources = var.ssm_parameter_arns
    }
  }

  statement {
    sid       = "SecretsDecrypt"
    actions   = ["kms:Decrypt"]
    resources = local.secret_kms
  }
}

resource "aws_iam_role" "execution" {
  name                 = "${var.name}-execution"
  description          = "ECS agent for sluice tasks: pull the image, write logs, read secrets"
  assume_role_policy   = data.aws_iam_policy_document.assume_ecs_tasks.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "ecs-agent"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
