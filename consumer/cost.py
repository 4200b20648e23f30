"""`sluice cost`: a monthly AWS cost estimate for a given load, and its assumptions.

`estimate` is a pure function of the load (records per second, record size), the
measured per-core throughput of the pipeline and the deployment's shape; `render` prints
it as a table. It sizes the consumer (tasks of one vCPU: the pipeline core is one Python
process, so it uses one core) and the stream (shards), then prices Fargate, Kinesis or
SQS, S3, DynamoDB checkpoints, CloudWatch, KMS and the VPC interface endpoints with the
figures in `Prices`. docs/cost.md explains the method and where each price comes from.

Prices are us-east-1 list prices in USD, as assumed on `PRICES_AS_OF`; free tiers,
savings plans and data transfer are left out. The output is an order of magnitude to
plan with, not a quote.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Literal

PRICES_AS_OF = "2026-11-22"
HOURS_PER_MONTH = 730.0  # AWS's monthly convention
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
KIB = 1024
MIB = 1024 * 1024

# Limits that size resources (AWS service quotas, not prices).
SHARD_RECORDS_PER_S = 1000  # Kinesis write limit per shard
SHARD_BYTES_PER_S = MIB  # 1 MiB/s written per shard
KINESIS_PUT_UNIT_BYTES = 25 * KIB
SQS_REQUEST_CHUNK_BYTES = 64 * KIB  # each 64 KiB of a request is billed as one request
SQS_BATCH = 10  # messages per SendMessageBatch, ReceiveMessage, DeleteMessageBatch
SQS_EMPTY_RECEIVES_PER_MIN = 3.0  # one 20 s long poll after another, per receiver

Source = Literal["kinesis", "sqs"]
Driver = Literal["polling", "kcl"]


@dataclass(frozen=True, slots=True)
class Prices:
    """List prices, USD, us-east-1, as assumed on PRICES_AS_OF (sources: docs/cost.md)."""

    fargate_vcpu_hour: float = 0.04048  # Linux/x86
    fargate_gb_hour: float = 0.004445  # Linux/x86
    fargate_spot_discount: float = 0.70  # typical; Spot prices float
    kinesis_shard_hour: float = 0.015  # provisioned mode
    kinesis_put_units_per_million: float = 0.014  # 25 KiB payload units
    sqs_requests_per_million: float = 0.40  # standard queue
    s3_puts_per_thousand: float = 0.005  # PUT, COPY, POST, LIST
    s3_gb_month: float = 0.023  # Standard, first 50 TB
    dynamodb_writes_per_million: float = 0.625  # on-demand write request units
    cloudwatch_metric_month: float = 0.30  # custom metric, first 10,000
    cloudwatch_logs_ingest_gb: float = 0.50  # standard log class
    cloudwatch_alarm_metric_month: float = 0.10  # standard resolution, per metric
    cloudwatch_dashboard_month: float = 3.00
    kms_key_month: float = 1.00
    vpc_endpoint_az_hour: float = 0.01  # interface endpoint, per AZ


PRICES = Prices()


@dataclass(frozen=True, slots=True)
class Shape:
    """The deployment's shape: what the load is sized and priced against."""

    source: Source = "kinesis"
    kinesis_driver: Driver = "polling"
    task_vcpu: float = 1.0
    task_memory_gb: float = 2.0
    target_utilization: float = 0.7  # of a core and of a shard; the rest is headroom
    spot_share: float = 0.0  # fraction of task-hours on Fargate Spot
    routes: int = 1
    buffer_max_records: int = 500
    buffer_max_age_s: float = 5.0
    compression_ratio: float = 0.25  # gzip'd JSON Lines bytes / record bytes
    custom_metrics: int = 20  # distinct metric name and dimension sets (EMF)
    alarm_metrics: int = (
        9  # metrics in the alarms of infra/monitoring/alarms.json (8 kinesis, 9 sqs)
    )
    log_bytes_per_flush: int = 2000  # EMF records and log lines per flush
    interface_endpoints: int = 11  # infra/terraform/modules/vpc_endpoints default
    availability_zones: int = 2


@dataclass(frozen=True, slots=True)
class CostLine:
    service: str
    item: str
    quantity: str
    usd_per_month: float


@dataclass(frozen=True, slots=True)
class CostEstimate:
    records_per_s: float
    record_bytes: int
    per_core_records_per_s: float
    shape: Shape
    tasks: int
    shards: int
    flushes_per_s: float
    lines: tuple[CostLine, ...]
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_usd_per_month(self) -> float:
        return sum(line.usd_per_month for line in self.lines)


def _check(records_per_s: float, record_bytes: int, per_core: float, shape: Shape) -> None:
    if records_per_s <= 0 or record_bytes <= 0 or per_core <= 0:
        raise ValueError("records_per_s, record_bytes and per_core_records_per_s must be > 0")
    if not 0 < shape.target_utilization <= 1:
        raise ValueError("target_utilization must be in (0, 1]")
    if not 0 <= shape.spot_share <= 1:
        raise ValueError("spot_share must be in [0, 1]")
    if shape.routes < 1 or shape.buffer_max_records < 1 or shape.buffer_max_age_s <= 0:
        raise ValueError("routes, buffer_max_records and buffer_max_age_s must be positive")


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


def _fargate(tasks: int, shape: Shape, prices: Prices) -> list[CostLine]:
    hourly = (
        shape.task_vcpu * prices.fargate_vcpu_hour + shape.task_memory_gb * prices.fargate_gb_hour
    )
    blended = hourly * (1 - shape.spot_share * prices.fargate_spot_discount)
    spot = f", {shape.spot_share:.0%} Spot" if shape.spot_share else ""
    quantity = f"{tasks} x {shape.task_vcpu:g} vCPU / {shape.task_memory_gb:g} GB{spot}"
    return [CostLine("Fargate", "consumer tasks", quantity, tasks * blended * HOURS_PER_MONTH)]


def _kinesis(
    records_per_s: float, record_bytes: int, shards: int, prices: Prices
) -> list[CostLine]:
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


def _sqs(records_per_s: float, record_bytes: int, tasks: int, prices: Prices) -> list[CostLine]:
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


def _s3(
    records_per_s: float, record_bytes: int, flushes: float, shape: Shape, prices: Prices
) -> list[CostLine]:
    puts = flushes * shape.routes * SECONDS_PER_MONTH
    stored_gb = records_per_s * record_bytes * shape.compression_ratio * SECONDS_PER_MONTH / 1e9
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


def _dynamodb(flushes: float, source: Source, prices: Prices) -> list[CostLine]:
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


def _cloudwatch(flushes: float, shape: Shape, prices: Prices) -> list[CostLine]:
    log_gb = flushes * shape.log_bytes_per_flush * SECONDS_PER_MONTH / 1e9
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


def _fixed(shape: Shape, prices: Prices) -> list[CostLine]:
    endpoint_hours = shape.interface_endpoints * shape.availability_zones * HOURS_PER_MONTH
    return [
        CostLine("KMS", "customer-managed key", "1", prices.kms_key_month),
        CostLine(
            "VPC",
            "interface endpoints",
            f"{shape.interface_endpoints} x {shape.availability_zones} AZ",
            endpoint_hours * prices.vpc_endpoint_az_hour,
        ),
    ]


def _warnings(tasks: int, shards: int, shape: Shape) -> tuple[str, ...]:
    notes: list[str] = []
    if shape.source == "kinesis" and shape.kinesis_driver == "polling" and tasks > 1:
        notes.append(
            f"this load needs {tasks} tasks, but the polling reader runs exactly one: "
            "use the SQS source or the KCL path (not built yet)"
        )
    if shape.source == "kinesis" and shape.kinesis_driver == "kcl" and tasks > shards:
        notes.append(
            f"{tasks} tasks for {shards} shard(s): KCL gives a shard to one worker, so "
            f"the shards were raised to {tasks}"
        )
    if shape.task_vcpu > 1:
        notes.append("a task uses one core for the pipeline; vCPUs beyond one add cost only")
    return tuple(notes)


def _assumptions(per_core: float, shape: Shape, prices: Prices) -> tuple[str, ...]:
    return (
        f"prices: us-east-1 list prices as assumed on {PRICES_AS_OF} (docs/cost.md); "
        "free tiers, savings plans and data transfer left out",
        f"throughput: {per_core:,.0f} records/s per core (the pipeline core in memory, "
        "make bench); sinks and network lower it: measure yours under load",
        f"headroom: tasks and shards sized for {shape.target_utilization:.0%} utilization",
        f"S3 objects: one per route and flush; {shape.buffer_max_records} records or "
        f"{shape.buffer_max_age_s:g} s per buffer; stored at {shape.compression_ratio:g} x "
        "the record bytes (gzip); storage accumulates month after month",
        f"Fargate Spot: {prices.fargate_spot_discount:.0%} below on-demand (it varies)",
        "Kinesis: provisioned mode, 24 h retention, no KPL aggregation, no enhanced fan-out",
        f"SQS: standard queue, batches of {SQS_BATCH}, one message per record",
        f"month: {HOURS_PER_MONTH:g} hours",
    )


def estimate(
    records_per_s: float,
    record_bytes: int,
    per_core_records_per_s: float,
    shape: Shape | None = None,
    prices: Prices = PRICES,
) -> CostEstimate:
    """Size and price a sluice deployment for a steady load of `records_per_s` records
    of `record_bytes` each."""
    shape = shape or Shape()
    _check(records_per_s, record_bytes, per_core_records_per_s, shape)
    tasks = tasks_for(records_per_s, per_core_records_per_s, shape)
    shards = 0
    if shape.source == "kinesis":
        shards = shards_for(records_per_s, record_bytes, shape.target_utilization)
        if shape.kinesis_driver == "kcl":
            shards = max(shards, tasks)
    flushes = flushes_per_s(records_per_s, shape, max(shards, tasks))
    lines = _fargate(tasks, shape, prices)
    if shape.source == "kinesis":
        lines += _kinesis(records_per_s, record_bytes, shards, prices)
    else:
        lines += _sqs(records_per_s, record_bytes, tasks, prices)
    lines += _s3(records_per_s, record_bytes, flushes, shape, prices)
    lines += _dynamodb(flushes, shape.source, prices)
    lines += _cloudwatch(flushes, shape, prices)
    lines += _fixed(shape, prices)
    return CostEstimate(
        records_per_s,
        record_bytes,
        per_core_records_per_s,
        shape,
        tasks,
        shards,
        flushes,
        tuple(lines),
        _assumptions(per_core_records_per_s, shape, prices),
        _warnings(tasks, shards, shape),
    )


def render(result: CostEstimate) -> str:
    """The estimate as a plain-text table, then its assumptions and warnings."""
    shape = result.shape
    sizing = f"{result.tasks} task(s)"
    if shape.source == "kinesis":
        sizing += f", {result.shards} shard(s), {shape.kinesis_driver} reader"
    header = (
        f"sluice cost estimate: {result.records_per_s:,.0f} records/s x "
        f"{result.record_bytes:,} bytes from {shape.source}: {sizing}"
    )
    rows = [("service", "item", "quantity", "USD/month")]
    rows += [
        (line.service, line.item, line.quantity, f"{line.usd_per_month:,.2f}")
        for line in result.lines
    ]
    rows.append(("total", "", "", f"{result.total_usd_per_month:,.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    rule = "  ".join("-" * width for width in widths)

    def fmt(row: tuple[str, str, str, str]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths[:3], strict=True)]
        return "  ".join([*cells, row[3].rjust(widths[3])]).rstrip()

    out = [header, "", fmt(rows[0]), rule, *map(fmt, rows[1:-1]), rule, fmt(rows[-1]), ""]
    out += ["assumptions:", *(f"  - {text}" for text in result.assumptions)]
    if result.warnings:
        out += ["warnings:", *(f"  ! {text}" for text in result.warnings)]
    return "\n".join(out)


DEFAULT_PER_CORE_RECORDS_PER_S = 27_000.0  # low end of `make bench`'s pipeline core figure


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The arguments of `sluice cost`."""
    parser.add_argument("--records-per-s", type=float, required=True, help="steady load")
    parser.add_argument("--record-bytes", type=int, required=True, help="average record size")
    parser.add_argument(
        "--per-core-records-per-s",
        type=float,
        default=DEFAULT_PER_CORE_RECORDS_PER_S,
        help="measured pipeline throughput of one core (default: %(default)g, make bench)",
    )
    parser.add_argument("--source", choices=["kinesis", "sqs"], default="kinesis")
    parser.add_argument("--kinesis-driver", choices=["polling", "kcl"], default="polling")
    parser.add_argument("--task-vcpu", type=float, default=1.0)
    parser.add_argument("--task-memory-gb", type=float, default=2.0)
    parser.add_argument("--target-utilization", type=float, default=0.7)
    parser.add_argument("--spot-share", type=float, default=0.0, help="0..1 of task-hours")
    parser.add_argument("--routes", type=int, default=1)
    parser.add_argument("--buffer-max-records", type=int, default=500)
    parser.add_argument("--buffer-max-age-s", type=float, default=5.0)


def from_args(args: argparse.Namespace) -> CostEstimate:
    """The estimate for parsed `sluice cost` arguments."""
    shape = Shape(
        source=args.source,
        kinesis_driver=args.kinesis_driver,
        task_vcpu=args.task_vcpu,
        task_memory_gb=args.task_memory_gb,
        target_utilization=args.target_utilization,
        spot_share=args.spot_share,
        routes=args.routes,
        buffer_max_records=args.buffer_max_records,
        buffer_max_age_s=args.buffer_max_age_s,
    )
    return estimate(args.records_per_s, args.record_bytes, args.per_core_records_per_s, shape)
