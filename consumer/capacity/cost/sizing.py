"""Sizing: tasks, shards and cuts for a load, and the bytes and events it moves.

Service quotas and protocol sizes, not prices: they decide how many of each billed unit
a load needs; prices.py says what each unit costs.
"""

from __future__ import annotations

import math

from consumer.capacity.cost.shape import Shape

HOURS_PER_MONTH = 730.0  # AWS's monthly convention
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
KIB = 1024
MIB = 1024 * 1024
GB = 1e9  # AWS bills decimal gigabytes

# Limits that size resources (AWS service quotas).
SHARD_RECORDS_PER_S = 1000  # Kinesis write limit per shard
SHARD_BYTES_PER_S = MIB  # 1 MiB/s written per shard
KINESIS_PUT_UNIT_BYTES = 25 * KIB
SQS_REQUEST_CHUNK_BYTES = 64 * KIB  # each 64 KiB of a request is billed as one request
SQS_BATCH = 10  # messages per SendMessageBatch, ReceiveMessage, DeleteMessageBatch
SQS_EMPTY_RECEIVES_PER_MIN = 3.0  # one 20 s long poll after another, per receiver

# What reading a record costs on the wire, beyond its bytes: the JSON fields of a
# GetRecords record (sequence number, arrival time, partition key; the data is base64) and
# of an SQS message received with all system attributes (a receipt handle of about 400
# characters) and deleted in a batch (the receipt handle again). Sizes of AWS's API
# reference examples, minified.
KINESIS_RECORD_WIRE_BYTES = 190
BASE64_RATIO = 4 / 3
SQS_MESSAGE_WIRE_BYTES = 1120

# Container Insights on ECS (Fargate): performance log events, one per running task,
# container, service and cluster each minute; sizes of the CloudWatch User Guide's
# example events ("Container Insights performance log events for Amazon ECS"), minified
# and rounded up, the image named by an ECR digest.
INSIGHTS_EVENTS_PER_MINUTE = 1
INSIGHTS_TASK_EVENT_BYTES = 1400
INSIGHTS_CONTAINER_EVENT_BYTES = 750
INSIGHTS_SERVICE_EVENT_BYTES = 550
INSIGHTS_CLUSTER_EVENT_BYTES = 400
# Metrics in the ECS/ContainerInsights namespace (CloudWatch User Guide, "Amazon ECS
# Container Insights metrics"): CPU, memory and ephemeral storage (used and reserved),
# network rx/tx and storage read/write at each of the three dimension sets; plus TaskCount
# and ServiceCount per cluster, and Desired, Running and Pending task counts, deployments
# and task sets per service. None has a task or container dimension.
INSIGHTS_CLUSTER_METRICS = 12
INSIGHTS_SERVICE_METRICS = 15
INSIGHTS_TASK_FAMILY_METRICS = 10


def shards_for(records_per_s: float, record_bytes: int, target_utilization: float) -> int:
    """Shards so that neither the record nor the byte limit exceeds the target share."""
    by_records = records_per_s / (SHARD_RECORDS_PER_S * target_utilization)
    by_bytes = records_per_s * record_bytes / (SHARD_BYTES_PER_S * target_utilization)
    return max(1, math.ceil(by_records), math.ceil(by_bytes))


def tasks_for(records_per_s: float, per_core_records_per_s: float, shape: Shape) -> int:
    """Tasks so that each core runs at the target utilization. The pipeline core is one
    Python process: a task's throughput is one core's, whatever its vCPU count."""
    per_task = per_core_records_per_s * min(shape.task_vcpu, 1.0) * shape.target_utilization
    return max(1, math.ceil(records_per_s / per_task))


def flushes_per_s(records_per_s: float, shape: Shape, partitions: int) -> float:
    """Cuts per second. A shard (or SQS reader) flushes all its buffers as one cut when
    one is full (routes share the records evenly) or when its oldest record reaches
    max age; each cut writes one object per route and one checkpoint."""
    by_size = records_per_s / (shape.buffer_max_records * shape.routes)
    by_age = min(records_per_s, partitions / shape.buffer_max_age_s)
    return max(by_size, by_age)


def log_gb_per_month(flushes: float, shape: Shape) -> float:
    """The tasks' own log output (EMF records and JSON log lines) in a month."""
    return flushes * shape.log_bytes_per_flush * SECONDS_PER_MONTH / GB


def source_gb_per_month(records_per_s: float, record_bytes: int, source: str) -> float:
    """Bytes the tasks read from the source in a month, as they cross the network."""
    if source == "kinesis":
        per_record = record_bytes * BASE64_RATIO + KINESIS_RECORD_WIRE_BYTES
    else:
        per_record = record_bytes + SQS_MESSAGE_WIRE_BYTES
    return records_per_s * per_record * SECONDS_PER_MONTH / GB


def insights_metrics(shape: Shape) -> int:
    """Container Insights metrics of one cluster: fixed per cluster, service and family."""
    return (
        INSIGHTS_CLUSTER_METRICS
        + INSIGHTS_SERVICE_METRICS * shape.ecs_services
        + INSIGHTS_TASK_FAMILY_METRICS * shape.task_families
    )


def insights_log_gb_per_month(tasks: int, shape: Shape) -> float:
    """Container Insights performance log events of a month: they grow with the tasks."""
    per_task = INSIGHTS_TASK_EVENT_BYTES + shape.containers_per_task * (
        INSIGHTS_CONTAINER_EVENT_BYTES
    )
    per_minute = (
        tasks * per_task
        + shape.ecs_services * INSIGHTS_SERVICE_EVENT_BYTES
        + INSIGHTS_CLUSTER_EVENT_BYTES
    )
    return per_minute * INSIGHTS_EVENTS_PER_MINUTE * MINUTES_PER_MONTH / GB
