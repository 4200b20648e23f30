"""The SQS source's exactly-once ledger (issue 18): what it adds to the bill.

An SQS source writes the lake exactly once through a DynamoDB ledger and a staging prefix
in S3 (docs/decisions.md has the protocol, docs/cost.md the formula). Per message, a claim
item written with a conditional PutItem (1 write request unit: the item is under 1 KB).
Per cut, the cut item (under 1 KB: state, owner, lease): created (1 WRU), its lease renewed
before the sinks write (1 WRU), committed (1 WRU). Both kinds of item stay until their
`exp` (the queue's retention plus a day), with point-in-time recovery on the table. Per
S3 object, a COPY from staging to its final key (the staged PUT is the PUT line's); per
cut and S3 sink, a ListObjectsV2 and a DeleteObjects. The staged copy the delete leaves
behind on the versioned bucket is kept about a day and a half by the staging lifecycle
rule. Heartbeat renewals of an open cut's lease (every visibility / 3),
reads during recovery and the KMS calls of a cached table key are left out: small beside
the rest.
"""

from __future__ import annotations

import math

from consumer.capacity.cost.prices import Prices
from consumer.capacity.cost.result import CostLine
from consumer.capacity.cost.shape import Shape
from consumer.capacity.cost.sizing import GB, SECONDS_PER_MONTH

DAY_S = 86_400
WRITE_UNIT_BYTES = 1024  # a standard write request unit covers an item of up to 1 KB
# Item sizes as DynamoDB counts them (attribute names + values): a claim
# `m#<queue>#<message id>` with its cut id and exp; a cut item (pk, state, owner,
# lease_until, exp). Storage is billed with 100 bytes of overhead an item.
CLAIM_ITEM_BYTES = 100
CUT_ITEM_BYTES = 150
ITEM_OVERHEAD_BYTES = 100
CUT_WRITES = 3  # created, renewed before the write, committed
# exp = now + retention + this margin (the ledger's spec)
LEDGER_MARGIN_DAYS = 1.0
# Requests per cut and S3 sink: ListObjectsV2 of the cut's staged objects, one DeleteObjects.
REQUESTS_PER_CUT_PER_SINK = 2
S3_SINKS = 1  # the lake; the quarantine writes only the cuts that have bad records
# modules/s3_bucket staging_noncurrent_days, plus half a day on average until the
# lifecycle's next run (it acts on objects due at midnight UTC).
STAGED_COPY_DAYS = 1 + 0.5


def write_units_per_cut() -> int:
    """Create, renew the lease before the write, commit: each a small item's write."""
    return CUT_WRITES * math.ceil(CUT_ITEM_BYTES / WRITE_UNIT_BYTES)


def sqs_ledger(
    records_per_s: float, record_bytes: int, flushes: float, shape: Shape, prices: Prices
) -> list[CostLine]:
    """The ledger's lines for an SQS source, none without it (`--no-sqs-ledger`, a
    pipeline with `exactly_once = false`) or for Kinesis. One message per record; a cut
    is a flush (`flushes` a second, records_per_s / flushes messages each)."""
    if shape.source != "sqs" or not shape.sqs_ledger:
        return []
    claim_units = math.ceil(CLAIM_ITEM_BYTES / WRITE_UNIT_BYTES)
    units = (records_per_s * claim_units + flushes * write_units_per_cut()) * SECONDS_PER_MONTH
    kept_s = (shape.sqs_retention_days + LEDGER_MARGIN_DAYS) * DAY_S
    item_bytes_per_s = records_per_s * (CLAIM_ITEM_BYTES + ITEM_OVERHEAD_BYTES) + flushes * (
        CUT_ITEM_BYTES + ITEM_OVERHEAD_BYTES
    )
    table_gb = item_bytes_per_s * kept_s / GB
    objects = flushes * shape.routes  # as the PUT line: one object per route and cut
    requests = (objects + flushes * S3_SINKS * REQUESTS_PER_CUT_PER_SINK) * SECONDS_PER_MONTH
    staged_gb = records_per_s * record_bytes * shape.compression_ratio * STAGED_COPY_DAYS * DAY_S
    staged_gb /= GB
    kept_days = shape.sqs_retention_days + LEDGER_MARGIN_DAYS
    return [
        CostLine(
            "DynamoDB",
            "SQS ledger writes (claims, cuts)",
            f"{units / 1e6:,.1f} M WRU",
            units / 1e6 * prices.dynamodb_writes_per_million,
        ),
        CostLine(
            "DynamoDB",
            f"SQS ledger storage ({kept_days:g} days of items)",
            _gb(table_gb),
            table_gb * prices.dynamodb_gb_month,
        ),
        CostLine(
            "DynamoDB",
            "SQS ledger point-in-time recovery",
            _gb(table_gb),
            table_gb * prices.dynamodb_pitr_gb_month,
        ),
        CostLine(
            "S3",
            "SQS ledger requests (COPY, LIST, DeleteObjects)",
            f"{requests / 1e6:,.2f} M",
            requests / 1000 * prices.s3_puts_per_thousand,
        ),
        CostLine(
            "S3",
            f"SQS ledger staged copies ({STAGED_COPY_DAYS:g} days)",
            _gb(staged_gb),
            staged_gb * prices.s3_gb_month,
        ),
    ]


def _gb(value: float) -> str:
    return f"{value:,.0f} GB" if value >= 100 else f"{value:,.2g} GB"
