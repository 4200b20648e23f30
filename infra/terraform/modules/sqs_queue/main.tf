# The SQS source queue and its dead-letter queue, both encrypted with the deployment's key.
#
# Visibility: sluice receives with VisibilityTimeout = source.visibility_timeout_s and
# extends held messages every visibility_timeout_s / 3 until their flush is acked, so the
# queue's default visibility is set to the same value (the environment passes it to the
# consumer as SLUICE__SOURCE__VISIBILITY_TIMEOUT_S). max_receive_count is the redrive
# policy sluice reads to decide when to move a failing message to the DLQ itself.

locals {
  suffix = var.fifo ? ".fifo" : ""
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
