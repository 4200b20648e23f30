# The SQS source queue and its dead-letter queue, both encrypted with the deployment's key.
#
# Visibility: sluice receives with VisibilityTimeout = source.visibility_timeout_s and
# extends held messages every visibility_timeout_s / 3 until their flush is acked, so the
# queue's default visibility is set to the same value (the environment passes it to the
# consumer as SLUICE__SOURCE__VISIBILITY_TIMEOUT_S). max_receive_count is the redrive
# policy sluice reads to decide when to move a failing message to the DLQ itself.
#
# Queue policies: both queues take requests over TLS only. The source queue also lets S3
# event notifications (sender_bucket_arns) and SNS subscriptions (sender_topic_arns) send
# to it, only on behalf of those buckets and topics of this account. The queues are
# KMS-encrypted, so the key policy must grant the same senders (the kms module's
# queue_sender_* variables); without both, S3 and SNS cannot deliver.

data "aws_caller_identity" "current" {}

locals {
  suffix = var.fifo ? ".fifo" : ""

  senders = {
    "s3.amazonaws.com"  = var.sender_bucket_arns
    "sns.amazonaws.com" = var.sender_topic_arns
  }
}

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-dlq${local.suffix}"
  fifo_queue                        = var.fifo
  message_retention_seconds         = var.dlq_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds
  tags                              = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = "${var.name}${local.suffix}"
  fifo_queue                        = var.fifo
  visibility_timeout_seconds        = var.visibility_timeout_s
  receive_wait_time_seconds         = 20
  message_retention_seconds         = var.retention_seconds
  max_message_size                  = 262144
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.dlq_retention_seconds >= var.retention_seconds
      error_message = "dlq_retention_seconds must be at least retention_seconds."
    }
  }
}

# Only this queue may use the DLQ as its dead-letter target.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = { for service, arns in local.senders : service => arns if length(arns) > 0 }

    content {
      sid       = "Sender${title(split(".", statement.key)[0])}"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.this.arn]

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
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue.json

  lifecycle {
    precondition {
      condition     = !(var.fifo && length(var.sender_bucket_arns) > 0)
      error_message = "S3 event notifications cannot target a FIFO queue: use a standard queue (fifo = false) with sender_bucket_arns."
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}
