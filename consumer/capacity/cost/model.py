"""`estimate`: size a deployment for a steady load and price every line of its bill."""

from __future__ import annotations

from consumer.capacity.cost import lake_lines, ledger_lines, pipeline_lines, platform_lines
from consumer.capacity.cost.prices import PRICES, PRICES_AS_OF, Prices
from consumer.capacity.cost.result import CostEstimate, CostLine
from consumer.capacity.cost.shape import Shape, check
from consumer.capacity.cost.sizing import (
    HOURS_PER_MONTH,
    SQS_BATCH,
    flushes_per_s,
    log_gb_per_month,
    shards_for,
    source_gb_per_month,
    tasks_for,
)


def _warnings(tasks: int, stream_shards: int, shape: Shape) -> tuple[str, ...]:
    notes: list[str] = []
    if shape.source == "kinesis" and shape.kinesis_driver == "polling" and tasks > 1:
        notes.append(
            f"this load needs {tasks} tasks, but the polling reader runs exactly one: "
            "use the SQS source or the KCL path (--kinesis-driver kcl)"
        )
    if shape.source == "kinesis" and shape.kinesis_driver == "kcl" and tasks > stream_shards:
        notes.append(
            f"{tasks} tasks for {stream_shards} shard(s): KCL gives a shard to one worker, "
            f"so the shards were raised to {tasks}"
        )
    if shape.task_vcpu > 1:
        notes.append("a task uses one core for the pipeline; vCPUs beyond one add cost only")
    return tuple(notes)


def _assumptions(per_core: float, shape: Shape, prices: Prices) -> tuple[str, ...]:
    network = {
        "endpoints": f"{shape.interface_endpoints} interface endpoints in "
        f"{shape.availability_zones} AZs",
        "nat": f"{shape.nat_gateways} NAT gateway(s)",
        "none": "paid elsewhere (--network none)",
    }[shape.network]
    return (
        f"prices: us-east-1 list prices as known on {PRICES_AS_OF}, not verified online "
        "(docs/cost.md); free tiers, savings plans and data transfer left out",
        f"throughput: {per_core:,.0f} records/s per core (the pipeline core in memory, "
        "make bench); sinks and network lower it: measure yours under load",
        f"headroom: tasks and shards sized for {shape.target_utilization:.0%} utilization",
        f"S3 objects: one per route and flush; {shape.buffer_max_records} records or "
        f"{shape.buffer_max_age_s:g} s per buffer; stored at {shape.compression_ratio:g} x "
        "the record bytes (gzip); storage accumulates month after month",
        f"Fargate Spot: {prices.fargate_spot_discount:.0%} below on-demand (it varies)",
        "Kinesis: provisioned mode, 24 h retention, no KPL aggregation, no enhanced fan-out",
        f"SQS: standard queue, batches of {SQS_BATCH}, one message per record",
        *_ledger_assumption(shape),
        *_lake_assumption(shape),
        "Container Insights: standard (not enhanced observability), one cluster; its "
        "performance events are sized from AWS's examples",
        f"network: {network}; S3 and DynamoDB through free gateway endpoints; data "
        "processed = the source's bytes on the wire + the tasks' logs",
        f"ECR: {shape.images_kept} images of {shape.image_mb:g} MB each (an upper bound: "
        "unchanged layers are stored once)",
        f"month: {HOURS_PER_MONTH:g} hours",
    )


def _lake_assumption(shape: Shape) -> tuple[str, ...]:
    if shape.lake_format == "jsonl" and not shape.athena_queries_per_day:
        return ()
    factor = lake_lines.FORMAT_BYTES[shape.lake_format]
    return (
        f"lake: {shape.lake_format}, {factor:g} x the bytes of gzip JSON Lines (measured, "
        "docs/lake.md); Iceberg: one commit per route and cut, "
        f"{lake_lines.GLUE_REQUESTS_PER_COMMIT} Glue requests and "
        f"{lake_lines.S3_PUTS_PER_COMMIT} metadata PUTs each; Athena queries read a day of "
        "data, JSON Lines whole, columns "
        f"{shape.athena_column_share:.0%} of a row's bytes",
    )


def _ledger_assumption(shape: Shape) -> tuple[str, ...]:
    if shape.source != "sqs":
        return ()
    if not shape.sqs_ledger:
        return (
            "SQS ledger: off (--no-sqs-ledger, exactly_once = false): a batch redelivered "
            "after a crash may be written to S3 twice",
        )
    return (
        "SQS ledger: 1 WRU a message (conditional claim), a cut item created, renewed "
        f"and committed ({ledger_lines.CUT_WRITES} WRU a cut), "
        f"items kept {shape.sqs_retention_days:g} + {ledger_lines.LEDGER_MARGIN_DAYS:g} days "
        "with PITR; a COPY per object, a LIST and a DeleteObjects per cut (one S3 sink)",
    )


def _sizing(
    records_per_s: float, record_bytes: int, per_core: float, shape: Shape
) -> tuple[int, int, int]:
    """Tasks, the shards the stream needs for its bytes and records, and the shards it
    gets (raised for KCL, one worker a shard, and to `min_shards`)."""
    tasks = tasks_for(records_per_s, per_core, shape)
    if shape.source != "kinesis":
        return tasks, 0, 0
    needed = shards_for(records_per_s, record_bytes, shape.target_utilization)
    shards = max(needed, shape.min_shards)
    if shape.kinesis_driver == "kcl":
        shards = max(shards, tasks)
    return tasks, needed, shards


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
    if records_per_s <= 0 or record_bytes <= 0 or per_core_records_per_s <= 0:
        raise ValueError("records_per_s, record_bytes and per_core_records_per_s must be > 0")
    check(shape)
    tasks, needed, shards = _sizing(records_per_s, record_bytes, per_core_records_per_s, shape)
    flushes = flushes_per_s(records_per_s, shape, max(shards, tasks))
    lines: list[CostLine] = pipeline_lines.fargate(tasks, shape, prices)
    if shape.source == "kinesis":
        lines += pipeline_lines.kinesis(records_per_s, record_bytes, shards, prices)
    else:
        lines += pipeline_lines.sqs(records_per_s, record_bytes, tasks, prices)
    lines += pipeline_lines.s3(records_per_s, record_bytes, flushes, shape, prices)
    lines += lake_lines.iceberg(flushes, shape, prices)
    lines += lake_lines.athena(records_per_s, record_bytes, shape, prices)
    lines += pipeline_lines.dynamodb(flushes, shape.source, prices)
    lines += ledger_lines.sqs_ledger(records_per_s, record_bytes, flushes, shape, prices)
    lines += pipeline_lines.cloudwatch(flushes, shape, prices)
    lines += platform_lines.container_insights(tasks, shape, prices)
    lines += platform_lines.kms(prices)
    lines += platform_lines.ecr(shape, prices)
    lines += platform_lines.efs(shape, prices)
    data_gb = source_gb_per_month(records_per_s, record_bytes, shape.source)
    data_gb += log_gb_per_month(flushes, shape)
    lines += platform_lines.network(data_gb, shape, prices)
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
        _warnings(tasks, max(needed, shape.min_shards), shape),
    )
