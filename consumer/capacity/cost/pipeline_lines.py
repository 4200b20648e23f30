"""The lines that grow with the load: compute, the source, the lake, checkpoints, the
tasks' own metrics and logs."""

from __future__ import annotations

import math

from consumer.capacity.cost.lake_lines import stored_ratio
from consumer.capacity.cost.prices import Prices
from consumer.capacity.cost.result import CostLine
from consumer.capacity.cost.shape import Shape, Source
from consumer.capacity.cost.sizing import (
    GB,
    HOURS_PER_MONTH,
    KINESIS_PUT_UNIT_BYTES,
    SECONDS_PER_MONTH,
    SQS_BATCH,
    SQS_EMPTY_RECEIVES_PER_MIN,
    SQS_REQUEST_CHUNK_BYTES,
    log_gb_per_month,
)


def fargate(tasks: int, shape: Shape, prices: Prices) -> list[CostLine]:
    hourly = (
        shape.task_vcpu * prices.fargate_vcpu_hour + shape.task_memory_gb * prices.fargate_gb_hour
    )
    blended = hourly * (1 - shape.spot_share * prices.fargate_spot_discount)
    spot = f", {shape.spot_share:.0%} Spot" if shape.spot_share else ""
    quantity = f"{tasks} x {shape.task_vcpu:g} vCPU / {shape.task_memory_gb:g} GB{spot}"
    return [CostLine("Fargate", "consumer tasks", quantity, tasks * blended * HOURS_PER_MONTH)]


def kinesis(records_per_s: float, record_bytes: int, shards: int, prices: Prices) -> list[CostLine]:
    units = records_per_s * math.ceil(record_bytes / KINESIS_PUT_UNIT_BYTES) * SECONDS_PER_MONTH
    return [
        CostLine(
            "Kinesis",
            "shard-hours",
            f"{shards} shard(s)",
            shards * prices.kinesis_shard_hour * HOURS_PER_MONTH,
        ),
        CostLine(
            "Kinesis",
            "PUT payload units",
            f"{units / 1e6:,.0f} M",
            units / 1e6 * prices.kinesis_put_units_per_million,
        ),
    ]


def sqs(records_per_s: float, record_bytes: int, tasks: int, prices: Prices) -> list[CostLine]:
    chunks = math.ceil(record_bytes / SQS_REQUEST_CHUNK_BYTES)
    batched = records_per_s * chunks / SQS_BATCH  # send, receive and delete each
    empty = tasks * 2 * SQS_EMPTY_RECEIVES_PER_MIN / 60  # two receivers per task
    requests = (3 * batched + empty) * SECONDS_PER_MONTH
    return [
        CostLine(
            "SQS",
            "requests (send, receive, delete in batches of 10)",
            f"{requests / 1e6:,.1f} M",
            requests / 1e6 * prices.sqs_requests_per_million,
        )
    ]


def s3(
    records_per_s: float, record_bytes: int, flushes: float, shape: Shape, prices: Prices
) -> list[CostLine]:
    puts = flushes * shape.routes * SECONDS_PER_MONTH
    stored_gb = records_per_s * record_bytes * stored_ratio(shape) * SECONDS_PER_MONTH / GB
    return [
        CostLine(
            "S3", "PUT requests", f"{puts / 1e6:,.2f} M", puts / 1000 * prices.s3_puts_per_thousand
        ),
        CostLine(
            "S3",
            "storage added per month",
            f"{stored_gb:,.0f} GB",
            stored_gb * prices.s3_gb_month,
        ),
    ]


def dynamodb(flushes: float, source: Source, prices: Prices) -> list[CostLine]:
    if source != "kinesis":
        return []
    writes = flushes * SECONDS_PER_MONTH  # one conditional UpdateItem per shard cut
    return [
        CostLine(
            "DynamoDB",
            "checkpoint writes",
            f"{writes / 1e6:,.1f} M",
            writes / 1e6 * prices.dynamodb_writes_per_million,
        )
    ]


def cloudwatch(flushes: float, shape: Shape, prices: Prices) -> list[CostLine]:
    log_gb = log_gb_per_month(flushes, shape)
    return [
        CostLine(
            "CloudWatch",
            "custom metrics (EMF)",
            f"{shape.custom_metrics}",
            shape.custom_metrics * prices.cloudwatch_metric_month,
        ),
        CostLine(
            "CloudWatch",
            "log ingestion (EMF + logs)",
            f"{log_gb:,.1f} GB",
            log_gb * prices.cloudwatch_logs_ingest_gb,
        ),
        CostLine(
            "CloudWatch",
            "alarms",
            f"{shape.alarm_metrics} alarm metrics",
            shape.alarm_metrics * prices.cloudwatch_alarm_metric_month,
        ),
        CostLine("CloudWatch", "dashboard", "1", prices.cloudwatch_dashboard_month),
    ]
