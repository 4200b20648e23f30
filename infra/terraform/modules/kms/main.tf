# One customer-managed key for everything sluice stores: the stream, the queues, the
# bucket, the tables, the log group, the SNS topics and the ECR repository. One key keeps
# the task role's kms statement to a single ARN.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # AWS services that deliver into the encrypted SQS queues, and the resources (buckets,
  # topics) allowed to make them do so. SQS encrypts a message with a data key the sender
  # must be able to generate, so the sender's service principal needs the key too.
  queue_senders = {
    "s3.amazonaws.com"  = var.queue_sender_bucket_arns
    "sns.amazonaws.com" = var.queue_sender_topic_arns
  }
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:a key policy's Resource "*" means this key; the account root is the key administrator, as AWS's default key policy has it
  #checkov:skip=CKV_AWS_111:a key policy's Resource "*" means this key; write access stays with the account's own IAM principals
  #checkov:skip=CKV_AWS_356:a key policy's Resource "*" means this key, it cannot name another resource
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncrypts"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # CloudWatch alarms publish to the encrypted SNS topic.
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # S3 event notifications and SNS subscriptions into the SQS queues: only on behalf of
  # the named buckets and topics of this account (no confused deputy).
  dynamic "statement" {
    for_each = { for service, arns in local.queue_senders : service => arns if length(arns) > 0 }

    content {
      sid       = "QueueSender${title(split(".", statement.key)[0])}"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [statement.key]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = statement.value
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: sluice data at rest"
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
