# A sluice workflow as an AWS Step Functions state machine, and the schedule that starts it.
#
# The definition is the workflow file rendered by `sluice batch workflow render FILE
# --target stepfunctions --terraform-template` (batch_jobs/workflow/stepfunctions.py):
# steps as Parallel states, parts as Map states, each unit an ECS task of the batch task
# definition that Step Functions starts and waits for (ecs:runTask.sync), retries and a
# failure path that records the run, publishes to the topic and fails the execution. This
# module fills in the deployment's values and gives the state machine exactly the rights
# that definition uses (tests/infra/test_terraform_stepfunctions.py checks it):
#
# - RunTask of the batch task definition's revisions, in this cluster; DescribeTasks and
#   StopTask (a timed-out or aborted unit is stopped) on this cluster's tasks;
# - iam:PassRole of the task definition's two roles, to ECS tasks only;
# - the EventBridge managed rule through which `.sync` learns that a task stopped;
# - PutItem/UpdateItem on the runs table, Publish on the topic, the key they are encrypted
#   with;
# - log delivery to its KMS-encrypted log group and X-Ray, whose APIs take no resource.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"

  # The template's placeholders; a list is one placeholder inside the list, filled with
  # the ids joined by `", "` (batch_jobs/workflow/stepfunctions.py, template_target).
  definition = templatefile(var.definition_file, {
    cluster_arn         = var.cluster_arn
    task_definition_arn = var.task_definition_arn
    container_name      = var.container_name
    subnet_ids          = join("\", \"", var.subnet_ids)
    security_group_ids  = join("\", \"", var.security_group_ids)
    runs_table          = var.runs_table_name
    notify_topic_arn    = var.notify_topic_arn
  })

  scheduled = var.schedule_expression != null
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume_states" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    # Confused-deputy guard: only this account's state machine of this name.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

data "aws_iam_policy_document" "state_machine" {
  # Each unit: RunTask of the batch task definition (any revision), in this cluster only.
  statement {
    sid       = "RunUnitTasks"
    actions   = ["ecs:RunTask"]
    resources = ["${var.task_definition_family_arn}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  # .sync follows the task (DescribeTasks) and stops it when the state times out or the
  # execution is stopped (StopTask): this cluster's tasks.
  statement {
    sid       = "FollowUnitTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["${replace(var.cluster_arn, ":cluster/", ":task/")}/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  # RunTask hands the task definition's roles to ECS; only these, only to ECS tasks.
  statement {
    sid       = "PassUnitRoles"
    actions   = ["iam:PassRole"]
    resources = [var.task_role_arn, var.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # .sync hears of a stopped task through this managed EventBridge rule, which Step
  # Functions creates and targets on the state machine's behalf.
  statement {
    sid     = "SyncTaskEvents"
    actions = ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    resources = [
      "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForECSTaskRule",
    ]
  }

  # The run record: put when the execution starts, updated when it ends.
  statement {
    sid       = "RunRecord"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [var.runs_table_arn]
  }

  statement {
    sid       = "NotifyFailure"
    actions   = ["sns:Publish"]
    resources = [var.notify_topic_arn]
  }

  # The topic and the runs table are encrypted with this key.
  statement {
    sid       = "KmsData"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # Log delivery to CloudWatch Logs: these actions take no resource, AWS requires "*".
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []

    content {
      sid = "XRay"
      actions = [
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name                 = "${var.name}-sfn"
  description          = "Step Functions: run the ${var.name} workflow's units as ECS tasks"
  assume_role_policy   = data.aws_iam_policy_document.assume_states.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "workflow"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_sfn_state_machine" "this" {
  name       = var.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.state_machine.arn
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = can(jsondecode(local.definition))
      error_message = "The filled definition is not JSON: render the template with `sluice batch workflow render FILE --target stepfunctions --terraform-template`."
    }
  }

  # The role's policy must exist before the state machine is validated against it.
  depends_on = [aws_iam_role_policy.state_machine]
}

# -------------------------------------------------------------------------- schedule

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
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartRun"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }

  # The schedule's payload is encrypted with the customer-managed key.
  statement {
    sid       = "KmsSchedule"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "scheduler" {
  count                = local.scheduled ? 1 : 0
  name                 = "${var.name}-sfn-scheduler"
  description          = "EventBridge Scheduler: start the ${var.name} workflow"
  assume_role_policy   = data.aws_iam_policy_document.assume_scheduler.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  count  = local.scheduled ? 1 : 0
  name   = "start-execution"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

# StartExecution through the universal target, named by the schedule's execution id: a
# retried invocation names the same run, and Step Functions starts it once.
resource "aws_scheduler_schedule" "this" {
  count                        = local.scheduled ? 1 : 0
  name                         = "${var.name}-sfn"
  description                  = "start a run of the ${var.name} sluice workflow"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = "arn:${local.partition}:scheduler:::aws-sdk:sfn:startExecution"
    role_arn = aws_iam_role.scheduler[0].arn
    input = jsonencode({
      StateMachineArn = aws_sfn_state_machine.this.arn
      Name            = "<aws.scheduler.execution-id>"
      Input           = "{}"
    })

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }
  }
}
