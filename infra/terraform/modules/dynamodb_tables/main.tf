# The tables sluice keeps state in, all on-demand, encrypted with the deployment's key,
# with point-in-time recovery.
#
# - checkpoints: the polling reader's per-shard checkpoints, hash key `shard_key` (S),
#   items `{application}#{stream}#{shard}` (consumer/sources/kinesis/checkpoints.py).
# - jobs: the job ledger of `sluice jobs`, hash key `idempotency_key` (S)
#   (consumer/jobs.py).
# - runs: workflow run records of `sluice batch workflow run`, hash key `run_id` (S),
#   range key `item` (S): `run` and one `unit#<unit>` per unit (batch_jobs/runrecord.py).
# - KCL 3.x tables for the multi-task Kinesis path (future work): the lease table
#   (`leaseKey`, with the `LeaseOwnerToLeaseKeyIndex` index KCL would otherwise add itself),
#   the worker metrics table (`wid`) and the coordinator state table (`key`). Created here
#   so the task role needs no dynamodb:CreateTable or UpdateTable.
# - sqs_ledger: the exactly-once ledger of the SQS source (issue 18), hash key `pk` (S):
#   claim items `m#<queue>#<message id>` and cut items `c#<cut id>`, each with an `exp`
#   (epoch seconds: the queue's retention plus a day) that TTL deletes them after. Only
#   with sqs_ledger_table_name (the source is SQS); the consumer never creates it
#   (`create_ledger_table = false`).

locals {
  kcl_tables = var.kcl_application_name == null ? {} : {
    worker_metrics    = { name = "${var.kcl_application_name}-WorkerMetricStats", hash_key = "wid" }
    coordinator_state = { name = "${var.kcl_application_name}-CoordinatorState", hash_key = "key" }
  }
}

resource "aws_dynamodb_table" "checkpoints" {
  name                        = var.checkpoint_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "shard_key"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "shard_key"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "jobs" {
  name                        = var.job_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "idempotency_key"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "idempotency_key"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "runs" {
  name                        = var.runs_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "run_id"
  range_key                   = "item"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "run_id"
    type = "S"
  }

  attribute {
    name = "item"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "kcl_leases" {
  count                       = var.kcl_application_name == null ? 0 : 1
  name                        = var.kcl_application_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "leaseKey"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "leaseKey"
    type = "S"
  }

  attribute {
    name = "leaseOwner"
    type = "S"
  }

  global_secondary_index {
    name            = "LeaseOwnerToLeaseKeyIndex"
    hash_key        = "leaseOwner"
    range_key       = "leaseKey"
    projection_type = "KEYS_ONLY"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "kcl" {
  for_each                    = local.kcl_tables
  name                        = each.value.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = each.value.hash_key
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "sqs_ledger" {
  count                       = var.sqs_ledger_table_name == null ? 0 : 1
  name                        = var.sqs_ledger_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  # Claims and cuts expire once no redelivery of their messages can come any more.
  ttl {
    attribute_name = "exp"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}
