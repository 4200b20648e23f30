"""The SQS source: long-poll receivers, visibility heartbeats, late deletes, DLQ moves."""
