output "arn" {
  description = "ARN of the stream."
  value       = aws_kinesis_stream.this.arn
}

output "name" {
  description = "Name of the stream."
  value       = aws_kinesis_stream.this.name
}

output "shard_count" {
  description = "Shards of the stream (caps the consumer's task count)."
  value       = aws_kinesis_stream.this.shard_count
}

output "consumer_arn_pattern" {
  description = "ARN pattern of the stream's enhanced fan-out consumers, for IAM."
  value       = "${aws_kinesis_stream.this.arn}/consumer/*"
}

output "enhanced_fan_out_consumer_arn" {
  description = "ARN of the registered enhanced fan-out consumer, or null."
  value       = try(aws_kinesis_stream_consumer.this[0].arn, null)
}
