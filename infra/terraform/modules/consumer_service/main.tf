# The long-lived sluice consumer: one ECS service on Fargate (optionally partly on Fargate
# Spot) and its autoscaling.
#
# How many tasks may run depends on the source:
# - kinesis + the built-in polling reader: exactly one task. The polling reader is a
#   single worker that reads every shard; two of them would read the same shards. Deploys
#   stop the old task before starting the new one (minimum healthy 0 %, maximum 100 %).
# - kinesis + KCL: up to one task per shard (KCL gives a shard to one worker only), scaled
#   on sluice's KinesisRecordsBehind (records behind per task) and on CPU.
# - sqs: competing consumers, scaled on BacklogPerTask (visible messages / running
#   tasks, by metric math) and on CPU.
#
# Both scaled services also get a memory policy that only scales out, and a surge step
# policy on a one-datapoint alarm of the backlog per task, so a step in the load is met
# within a minute instead of after target tracking's three datapoints
# (docs/decisions.md, "Scaling within a minute").

locals {
  polling_reader = var.source_type == "kinesis" && var.kinesis_driver == "polling"
  min_tasks      = local.polling_reader ? 1 : var.min_tasks
  max_tasks = (
    local.polling_reader ? 1 :
    var.source_type == "kinesis" ? min(var.max_tasks, var.kinesis_shard_count) :
    var.max_tasks
  )
  autoscaling = local.max_tasks > local.min_tasks
  kcl         = var.source_type == "kinesis" && var.kinesis_driver == "kcl"

  # CPU and memory datapoints every 60 s, or every 20 s (ECS high-resolution metrics,
  # which the service's monitoring configuration must turn on: docs/deployment.md).
  high_resolution = var.utilization_resolution_s == 20
  # The surge alarm's period: sluice's KinesisRecordsBehind is published at high
  # resolution every 10 s; AWS/SQS has queue depth once a minute.
  surge_period_s = local.kcl ? 10 : 60
  # (backlog per task as a multiple of backlog_surge_per_task, percent of tasks added):
  # the same steps as SURGE_LADDER in consumer/capacity/autoscale_sim_alarms.py.
  surge_ladder = [[1, 100], [2, 300], [4, 700]]

  # The health endpoint is on: the container health check (`sluice health`) asks it.
  environment = merge({ SLUICE__HEALTH__PORT = tostring(var.health_port) }, var.environment)
}

module "task" {
  source = "../task_definition"

  family                      = var.name
  image                       = var.image
  image_digest                = var.image_digest
  command                     = var.command
  cpu                         = var.cpu
  memory                      = var.memory
  cpu_architecture            = var.cpu_architecture
  environment                 = local.environment
  secrets                     = var.secrets
  health_check_command        = var.health_check_command
  health_check_start_period_s = var.health_check_start_period_s
  stop_timeout_s              = var.stop_timeout_s
  task_role_arn               = var.task_role_arn
  execution_role_arn          = var.execution_role_arn
  region                      = var.region
  log_group_name              = var.log_group_name
  log_stream_prefix           = "consumer"
  log_level                   = var.log_level
  ephemeral_storage_gib       = var.ephemeral_storage_gib
  efs                         = var.efs
  tags                        = var.tags
}

resource "aws_ecs_service" "this" {
  name                   = var.name
  cluster                = var.cluster_arn
  task_definition        = module.task.arn
  desired_count          = local.min_tasks
  enable_execute_command = false
  propagate_tags         = "SERVICE"
  wait_for_steady_state  = var.wait_for_steady_state

  deployment_minimum_healthy_percent = local.polling_reader ? 0 : 100
  deployment_maximum_percent         = local.polling_reader ? 100 : 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = 1
    weight            = var.fargate_spot_weight == 0 ? 1 : var.fargate_weight
  }

  dynamic "capacity_provider_strategy" {
    for_each = var.fargate_spot_weight > 0 ? [var.fargate_spot_weight] : []

    content {
      capacity_provider = "FARGATE_SPOT"
      weight            = capacity_provider_strategy.value
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  # Autoscaling owns the task count once the service exists.
  lifecycle {
    ignore_changes = [desired_count]
  }

  tags = var.tags
}

resource "aws_appautoscaling_target" "this" {
  count              = local.autoscaling ? 1 : 0
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = local.min_tasks
  max_capacity       = local.max_tasks
}

# SQS: BacklogPerTask = ApproximateNumberOfMessagesVisible / RunningTaskCount, by metric
# math, so scaling works even before any task runs sluice's own backlog publisher.
# Target value: acceptable backlog latency (s) / seconds per message per task.
resource "aws_appautoscaling_policy" "backlog_per_task" {
  count              = local.autoscaling && var.source_type == "sqs" ? 1 : 0
  name               = "${var.name}-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_task_target
    scale_in_cooldown  = var.scale_in_cooldown_s
    scale_out_cooldown = var.scale_out_cooldown_s

    customized_metric_specification {
      metrics {
        id          = "visible"
        label       = "visible messages"
        return_data = false

        metric_stat {
          stat = "Sum"

          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"

            dimensions {
              name  = "QueueName"
              value = var.sqs_queue_name
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "running tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = var.cluster_name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.this.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "BacklogPerTask"
        expression  = "visible / tasks"
        return_data = true
      }
    }
  }
}

# KCL: every task publishes KinesisRecordsBehind, the records behind the tip of the shards
# it holds (MillisBehindLatest x each shard's incoming rate), as EMF every 10 s; their
# average is the records behind per task, which falls in proportion as tasks are added.
resource "aws_appautoscaling_policy" "kinesis_backlog" {
  count              = local.autoscaling && local.kcl ? 1 : 0
  name               = "${var.name}-kinesis-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_task_target
    scale_in_cooldown  = var.scale_in_cooldown_s
    scale_out_cooldown = var.scale_out_cooldown_s

    customized_metric_specification {
      namespace   = var.metrics_namespace
      metric_name = "KinesisRecordsBehind"
      statistic   = "Average"

      dimensions {
        name  = "service"
        value = var.metrics_service
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.metrics_service != ""
      error_message = "metrics_service (the pipeline's name, or metrics.service) is needed to scale the KCL service on KinesisRecordsBehind."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  count              = local.autoscaling ? 1 : 0
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = var.scale_in_cooldown_s
    scale_out_cooldown = var.scale_out_cooldown_s

    predefined_metric_specification {
      predefined_metric_type = local.high_resolution ? "ECSServiceAverageCPUUtilizationHighResolution" : "ECSServiceAverageCPUUtilization"
    }
  }
}

# Memory does not fall as tasks are added (a task's memory is mostly its own runtime), so
# it only scales out: it never holds a scale-in back, or scale-in would stop at
# ceil(tasks x memory / target) instead of following the load.
resource "aws_appautoscaling_policy" "memory" {
  count              = local.autoscaling ? 1 : 0
  name               = "${var.name}-memory"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.memory_target_percent
    disable_scale_in   = true
    scale_out_cooldown = var.scale_out_cooldown_s

    predefined_metric_specification {
      predefined_metric_type = local.high_resolution ? "ECSServiceAverageMemoryUtilizationHighResolution" : "ECSServiceAverageMemoryUtilization"
    }
  }
}

# The surge: when the backlog per task reaches backlog_surge_per_task in one datapoint
# (10 s for KCL, 60 s for SQS), add 100 %, 300 % or 700 % of the tasks by how far it is
# above (1x, 2x, 4x the threshold). Never more than target tracking would ask for
# (ceil(tasks x backlog / target), with the threshold at least twice the target), only
# sooner; it never scales in. The threshold should be at least the records one task
# reads in a KCL lease hand-over (about 30 s of its work), so a scale-in's hand-over is
# never taken for a surge.
resource "aws_appautoscaling_policy" "backlog_surge" {
  count              = local.autoscaling && (local.kcl || var.source_type == "sqs") ? 1 : 0
  name               = "${var.name}-backlog-surge"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type          = "PercentChangeInCapacity"
    min_adjustment_magnitude = 1
    cooldown                 = var.scale_out_cooldown_s
    metric_aggregation_type  = "Average"

    dynamic "step_adjustment" {
      for_each = local.surge_ladder

      content {
        metric_interval_lower_bound = (step_adjustment.value[0] - 1) * var.backlog_surge_per_task
        metric_interval_upper_bound = step_adjustment.key + 1 < length(local.surge_ladder) ? (local.surge_ladder[step_adjustment.key + 1][0] - 1) * var.backlog_surge_per_task : null
        scaling_adjustment          = step_adjustment.value[1]
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.backlog_surge_per_task >= 2 * var.backlog_per_task_target
      error_message = "backlog_surge_per_task must be at least twice backlog_per_task_target, or the surge would ask for more tasks than target tracking."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "kinesis_surge" {
  count               = length(aws_appautoscaling_policy.backlog_surge) > 0 && local.kcl ? 1 : 0
  alarm_name          = "${var.name}-backlog-surge"
  alarm_description   = "KCL consumer: records behind per task at or above backlog_surge_per_task in one 10 s datapoint; adds tasks at once (step policy ${var.name}-backlog-surge)."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.backlog_surge_per_task
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.backlog_surge[0].arn]

  metric_query {
    id          = "behind"
    label       = "KinesisRecordsBehind per task"
    return_data = true

    metric {
      namespace   = var.metrics_namespace
      metric_name = "KinesisRecordsBehind"
      stat        = "Average"
      period      = local.surge_period_s
      dimensions  = { service = var.metrics_service }
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "sqs_surge" {
  count               = length(aws_appautoscaling_policy.backlog_surge) > 0 && var.source_type == "sqs" ? 1 : 0
  alarm_name          = "${var.name}-backlog-surge"
  alarm_description   = "SQS consumer: visible messages per running task at or above backlog_surge_per_task in one 60 s datapoint; adds tasks at once (step policy ${var.name}-backlog-surge)."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.backlog_surge_per_task
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.backlog_surge[0].arn]

  metric_query {
    id          = "visible"
    label       = "visible messages"
    return_data = false

    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      stat        = "Sum"
      period      = local.surge_period_s
      dimensions  = { QueueName = var.sqs_queue_name }
    }
  }

  metric_query {
    id          = "tasks"
    label       = "running tasks"
    return_data = false

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      stat        = "Average"
      period      = local.surge_period_s
      dimensions  = { ClusterName = var.cluster_name, ServiceName = aws_ecs_service.this.name }
    }
  }

  metric_query {
    id          = "backlog_per_task"
    label       = "BacklogPerTask"
    expression  = "visible / tasks"
    return_data = true
  }

  tags = var.tags
}
