# The long-lived sluice consumer: one ECS service on Fargate (optionally partly on Fargate
# Spot) and its autoscaling.
#
# How many tasks may run depends on the source:
# - kinesis + the built-in polling reader: exactly one task. The polling reader is a
#   single worker that reads every shard; two of them would read the same shards. Deploys
#   stop the old task before starting the new one (minimum healthy 0 %, maximum 100 %).
# - kinesis + KCL (future work, issue 5): up to one task per shard, scaled on CPU; the
#   maximum is capped at the shard count, because KCL gives a shard to one worker only.
# - sqs: competing consumers, scaled on BacklogPerTask (visible messages / running
#   tasks, by metric math) and on CPU.

locals {
  polling_reader = var.source_type == "kinesis" && var.kinesis_driver == "polling"
  min_tasks      = local.polling_reader ? 1 : var.min_tasks
  max_tasks = (
    local.polling_reader ? 1 :
    var.source_type == "kinesis" ? min(var.max_tasks, var.kinesis_shard_count) :
    var.max_tasks
  )
  autoscaling = local.max_tasks > local.min_tasks

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
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
