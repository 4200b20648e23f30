# One hardened Fargate task definition running the sluice image, shared by the consumer
# service and the batch jobs:
#
# - the image by digest (`<repository>@sha256:...`), never by a mutable tag;
# - a non-root user (the image's uid 10001) and a read-only root filesystem; the only
#   writable paths are the `scratch` volume at /tmp and, optionally, EFS;
# - secrets only through `secrets` (Secrets Manager or SSM ARNs, resolved by the ECS
#   agent), never as plain environment values; `environment` holds non-secret settings;
# - `stopTimeout`: ECS sends SIGTERM, waits this long, then SIGKILL. sluice flushes,
#   acks and exits on SIGTERM; keep its shutdown.timeout_s below this;
# - the init process (tini) as PID 1, so signals reach sluice and zombies are reaped.

locals {
  container_name = "sluice"
  environment = merge(
    {
      AWS_REGION       = var.region
      SLUICE_LOG_LEVEL = var.log_level
    },
    var.environment,
  )

  mount_points = concat(
    [{ sourceVolume = "scratch", containerPath = "/tmp", readOnly = false }],
    var.efs == null ? [] : [
      { sourceVolume = "shared", containerPath = var.efs.container_path, readOnly = var.efs.read_only },
    ],
  )

  health_check = var.health_check_command == null ? null : {
    command     = var.health_check_command
    interval    = 30
    timeout     = 5
    retries     = 3
    startPeriod = var.health_check_start_period_s
  }

  container = {
    name                   = local.container_name
    image                  = "${var.image}@${var.image_digest}"
    essential              = true
    command                = var.command
    user                   = var.user
    readonlyRootFilesystem = true
    privileged             = false
    stopTimeout            = var.stop_timeout_s
    environment            = [for name in sort(keys(local.environment)) : { name = name, value = local.environment[name] }]
    secrets                = [for name in sort(keys(var.secrets)) : { name = name, valueFrom = var.secrets[name] }]
    mountPoints            = local.mount_points
    healthCheck            = local.health_check
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { drop = ["ALL"] }
    }
    ulimits = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = var.log_stream_prefix
        mode                  = "non-blocking"
        max-buffer-size       = "25m"
      }
    }
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = var.task_role_arn
  execution_role_arn       = var.execution_role_arn
  container_definitions    = jsonencode([{ for key, value in local.container : key => value if value != null }])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "scratch"
  }

  dynamic "volume" {
    for_each = var.efs == null ? [] : [var.efs]

    content {
      name = "shared"

      efs_volume_configuration {
        file_system_id     = volume.value.file_system_id
        transit_encryption = "ENABLED"

        authorization_config {
          access_point_id = volume.value.access_point_id
          iam             = "ENABLED"
        }
      }
    }
  }

  dynamic "ephemeral_storage" {
    for_each = var.ephemeral_storage_gib > 20 ? [var.ephemeral_storage_gib] : []

    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  tags = var.tags
}
