# The Kinesis data stream sluice consumes, encrypted with the deployment's key.
# Provisioned mode: the shard count is known to Terraform, which caps the consumer's task
# count (one KCL worker per shard at most is useful).

resource "aws_kinesis_stream" "this" {
  name                      = var.name
  shard_count               = var.shard_count
  retention_period          = var.retention_hours
  encryption_type           = "KMS"
  kms_key_id                = var.kms_key_arn
  enforce_consumer_deletion = false
  shard_level_metrics       = var.shard_level_metrics

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }

  tags = var.tags
}

# Enhanced fan-out consumer for the KCL path (SubscribeToShard). Registered here so the
# task role needs no kinesis:RegisterStreamConsumer.
resource "aws_kinesis_stream_consumer" "this" {
  count      = var.enhanced_fan_out_consumer_name == null ? 0 : 1
  name       = var.enhanced_fan_out_consumer_name
  stream_arn = aws_kinesis_stream.this.arn
}
