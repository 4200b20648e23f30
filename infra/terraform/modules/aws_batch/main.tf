# sluice batch jobs on AWS Batch: Fargate and Fargate Spot compute environments, a job
# queue over them, and a job definition running the sluice image with the ECS tasks' roles
# and hardening (consumer/aws/batch.py submits to it).
#
# `sluice batch submit JOB --launch batch --parts N` submits an array job of N children;
# child i takes part i of the input (AWS_BATCH_JOB_ARRAY_INDEX with SLUICE_PARTS=N). AWS
# Batch queues what does not fit in max_vcpus, retries a failed child (retry_attempts:
# a Spot reclaim or a crash; parts are idempotent, so a redone part writes the same
# objects) and reports the array job once all children ended.
#
# The compute environments run under AWS Batch's service-linked role
# (AWSServiceRoleForBatch, created on first use); this module creates no role. The jobs'
# code runs with task_role_arn, the same role as the ECS tasks, so a job on AWS Batch
# reaches exactly what it would on ECS. Their names are left to Terraform: the name
# attribute differs between AWS provider 5 and 6.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  environment = merge(
    {
      AWS_REGION       = var.region
      SLUICE_LOG_LEVEL = var.log_level
    },
    var.environment,
  )

  capacity = var.fargate_spot ? { spot = "FARGATE_SPOT", on_demand = "FARGATE" } : { on_demand = "FARGATE" }

  container = {
    image            = "${var.image}@${var.image_digest}"
    command          = var.command
    jobRoleArn       = var.task_role_arn
    executionRoleArn = var.execution_role_arn
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.vcpu) },
      { type = "MEMORY", value = tostring(var.memory_mib) },
    ]
    environment            = [for name in sort(keys(local.environment)) : { name = name, value = local.environment[name] }]
    secrets                = [for name in sort(keys(var.secrets)) : { name = name, valueFrom = var.secrets[name] }]
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    privileged             = false
    volumes                = [{ name = "scratch" }]
    mountPoints            = [{ sourceVolume = "scratch", containerPath = "/tmp", readOnly = false }]
    linuxParameters        = { initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "aws-batch"
      }
    }
    networkConfiguration         = { assignPublicIp = "DISABLED" }
    fargatePlatformConfiguration = { platformVersion = "LATEST" }
    runtimePlatform              = { operatingSystemFamily = "LINUX", cpuArchitecture = var.cpu_architecture }
    ephemeralStorage             = var.ephemeral_storage_gib == null ? null : { sizeInGiB = var.ephemeral_storage_gib }
  }
}

resource "aws_batch_compute_environment" "this" {
  for_each = local.capacity

  type  = "MANAGED"
  state = "ENABLED"

  compute_resources {
    type               = each.value
    max_vcpus          = var.max_vcpus
    subnets            = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  tags = merge(var.tags, { Name = "${var.name}-${replace(lower(each.value), "_", "-")}" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_batch_job_queue" "this" {
  name     = var.name
  state    = "ENABLED"
  priority = 1

  # Spot first when it is on; on-demand Fargate when Spot has no capacity.
  dynamic "compute_environment_order" {
    for_each = var.fargate_spot ? ["spot", "on_demand"] : ["on_demand"]

    content {
      order               = compute_environment_order.key
      compute_environment = aws_batch_compute_environment.this[compute_environment_order.value].arn
    }
  }

  tags = var.tags
}

resource "aws_batch_job_definition" "this" {
  name                  = var.name
  type                  = "container"
  platform_capabilities = ["FARGATE"]
  propagate_tags        = true
  container_properties  = jsonencode({ for key, value in local.container : key => value if value != null })

  retry_strategy {
    attempts = var.retry_attempts
  }

  timeout {
    attempt_duration_seconds = var.attempt_timeout_s
  }

  tags = var.tags
}

# Who submits (an operator, a CI job) attaches this: submit to this queue with this job
# definition, and read jobs back. DescribeJobs takes no resource: AWS requires "*".
data "aws_iam_policy_document" "submit" {
  statement {
    sid     = "SubmitJobs"
    actions = ["batch:SubmitJob"]
    resources = [
      aws_batch_job_queue.this.arn,
      "arn:${local.partition}:batch:${var.region}:${local.account_id}:job-definition/${var.name}:*",
    ]
  }

  statement {
    sid       = "ReadJobs"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "submit" {
  name        = "${var.name}-submit"
  description = "Submit sluice batch jobs to ${var.name} and read them back"
  policy      = data.aws_iam_policy_document.submit.json
  tags        = var.tags
}
