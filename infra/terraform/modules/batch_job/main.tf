# A one-off sluice task (ECS RunTask) and, optionally, an EventBridge Scheduler schedule
# that starts it.
#
# The default command, `sluice run --config FILE --until-idle`, drains the source and
# exits. Other one-off work is a different `command`: `sluice batch run backfill|
# replay-quarantine --config FILE --param KEY=VALUE [--part i/N]` (batch_jobs/),
# `sluice batch workflow run FILE` for a workflow of batch jobs, or
# `sluice jobs --queue Q --ledger-table T --until-idle` for queued job messages.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "task" {
  source = "../task_definition"

  family                = var.name
  image                 = var.image
  image_digest          = var.image_digest
  command               = var.command
  cpu                   = var.cpu
  memory                = var.memory
  cpu_architecture      = var.cpu_architecture
  environment           = var.environment
  secrets               = var.secrets
  health_check_command  = null
  stop_timeout_s        = var.stop_timeout_s
  task_role_arn         = var.task_role_arn
  execution_role_arn    = var.execution_role_arn
  region                = var.region
  log_group_name        = var.log_group_name
  log_stream_prefix     = "batch"
  log_level             = var.log_level
  ephemeral_storage_gib = var.ephemeral_storage_gib
  efs                   = var.efs
  tags                  = var.tags
}

locals {
  scheduled = var.schedule_expression != null
}

data "aws_iam_policy_document" "assume_scheduler" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunBatchTask"
    actions   = ["ecs:RunTask"]
    resources = ["${module.task.arn_without_revision}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [var.task_role_arn, var.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count                = local.scheduled ? 1 : 0
  name                 = "${var.name}-scheduler"
  description          = "EventBridge Scheduler: start the ${var.name} batch task"
  assume_role_policy   = data.aws_iam_policy_document.assume_scheduler.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  count  = local.scheduled ? 1 : 0
  name   = "run-task"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:the schedule's input holds no data or secret (task definition ARN, subnets); the AWS-owned key avoids a key policy for the scheduler role
  count                        = local.scheduled ? 1 : 0
  name                         = var.name
  description                  = "start the ${var.name} sluice batch task"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.cluster_arn
    role_arn = aws_iam_role.scheduler[0].arn

    ecs_parameters {
      task_definition_arn = module.task.arn
      launch_type         = "FARGATE"
      task_count          = 1

      network_configuration {
        subnets          = var.subnet_ids
        security_groups  = var.security_group_ids
        assign_public_ip = false
      }
    }

    # RunTask call failures (throttling, capacity) are retried; a failed *task* is not:
    # a batch task that exits non-zero acked nothing past its last flush, and the next
    # run resumes from the checkpoints.
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }
  }
}
