"""The lake's format in the bill (docs/lake.md, "Cost"): what it stores, what an Iceberg
commit costs in catalog and S3 requests, what Athena scans.

Bytes stored per record are gzip JSON Lines' (`Shape.compression_ratio`) times the
format's factor below, measured by `make bench` (group `lake-bytes`) on the reference
event and on the demo's page views and purchases: Parquet objects of 500 rows hold 0.85
to 0.91 of gzip JSON Lines' bytes (ISA-L level 1, consumer/sinks/gzipped.py), Iceberg
data files of 5,000 rows 0.79.
Random identifiers dominate those events; data with repeated values compresses better in
columns.
"""

from __future__ import annotations

from consumer.capacity.cost.prices import Prices
from consumer.capacity.cost.result import CostLine
from consumer.capacity.cost.shape import Shape
from consumer.capacity.cost.sizing import GB, SECONDS_PER_MONTH

FORMAT_BYTES = {"jsonl": 1.0, "parquet": 0.88, "iceberg": 0.79}
"""Bytes stored per record, relative to gzip JSON Lines (module docstring)."""
GLUE_REQUESTS_PER_COMMIT = 3  # GetTable to plan, GetTable and UpdateTable to commit
S3_PUTS_PER_COMMIT = 3  # manifest, manifest list, metadata file (data files: the PUT line)
S3_GETS_PER_COMMIT = 2  # the metadata file and the manifest list, read to plan
DAYS_PER_MONTH = 30.42
TB = 1e12
ATHENA_MIN_BYTES = 10e6  # Athena bills at least 10 MB a query


def stored_ratio(shape: Shape) -> float:
    """Bytes the lake stores per record byte, in the shape's format."""
    return shape.compression_ratio * FORMAT_BYTES[shape.lake_format]


def day_bytes(records_per_s: float, record_bytes: int, shape: Shape) -> float:
    return records_per_s * record_bytes * stored_ratio(shape) * 86_400


def iceberg(flushes: float, shape: Shape, prices: Prices) -> list[CostLine]:
    """Catalog and metadata requests of one commit a cut (the data files are the S3 PUT
    line's objects)."""
    if shape.lake_format != "iceberg":
        return []
    commits = flushes * shape.routes * SECONDS_PER_MONTH
    glue = commits * GLUE_REQUESTS_PER_COMMIT
    puts, gets = commits * S3_PUTS_PER_COMMIT, commits * S3_GETS_PER_COMMIT
    return [
        CostLine(
            "Glue",
            "Data Catalog requests (Iceberg commits)",
            f"{glue / 1e6:,.2f} M",
            glue / 1e6 * prices.glue_requests_per_million,
        ),
        CostLine(
            "S3",
            "Iceberg metadata requests (PUT, GET)",
            f"{puts / 1e6:,.2f} M PUT, {gets / 1e6:,.2f} M GET",
            puts / 1000 * prices.s3_puts_per_thousand + gets / 1000 * prices.s3_gets_per_thousand,
        ),
    ]


def athena_query_usd(
    records_per_s: float, record_bytes: int, shape: Shape, prices: Prices
) -> float:
    """One query over a day of data: JSON Lines is read whole, columns only in part."""
    share = 1.0 if shape.lake_format == "jsonl" else shape.athena_column_share
    scanned = max(day_bytes(records_per_s, record_bytes, shape) * share, ATHENA_MIN_BYTES)
    return scanned / TB * prices.athena_tb_scanned


def athena(records_per_s: float, record_bytes: int, shape: Shape, prices: Prices) -> list[CostLine]:
    if shape.athena_queries_per_day <= 0:
        return []
    per_query = athena_query_usd(records_per_s, record_bytes, shape, prices)
    queries = shape.athena_queries_per_day * DAYS_PER_MONTH
    scanned_gb = per_query / prices.athena_tb_scanned * TB / GB
    return [
        CostLine(
            "Athena",
            "queries over a day of data",
            f"{queries:,.0f} x {scanned_gb:,.1f} GB",
            queries * per_query,
        )
    ]
