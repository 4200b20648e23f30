"""Backfill inputs for tests: readings as JSON Lines (plain, gzip) and Parquet objects, and
read-backs of everything a job wrote, byte for byte."""

from __future__ import annotations

import gzip
import io
from decimal import Decimal
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tests.integration.harness import reading

Kind = Literal["jsonl", "gzip", "parquet"]


def readings(start: int, count: int) -> list[dict[str, Any]]:
    return [orjson.loads(reading(i)[1]) for i in range(start, start + count)]


def parquet_bytes(
    rows: list[dict[str, Any]], row_group_size: int = 20, decimal_values: bool = False
) -> bytes:
    """The readings as a Parquet file of several row groups; `decimal_values` stores
    `value` as decimal(12, 1) instead of a double."""
    columns: dict[str, Any] = {name: [row[name] for row in rows] for name in rows[0]}
    if decimal_values:
        values = [Decimal(str(value)).quantize(Decimal("0.1")) for value in columns["value"]]
        columns["value"] = pa.array(values, pa.decimal128(12, 1))
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out, row_group_size=row_group_size)
    return out.getvalue()


def body(kind: Kind, rows: list[dict[str, Any]], decimal_values: bool = False) -> bytes:
    if kind == "parquet":
        return parquet_bytes(rows, decimal_values=decimal_values)
    lines = b"\n".join(orjson.dumps(row) for row in rows) + b"\n"
    return gzip.compress(lines, mtime=0) if kind == "gzip" else lines


SUFFIX = {"jsonl": ".jsonl", "gzip": ".jsonl.gz", "parquet": ".parquet"}


def put_inputs(
    s3: Any, bucket: str, count: int, per_object: int, kinds: tuple[Kind, ...]
) -> list[str]:
    """`count` readings in objects of `per_object` under `in/`, formats taking turns
    (every other Parquet object with decimal values)."""
    keys = []
    for number, start in enumerate(range(0, count, per_object)):
        kind = kinds[number % len(kinds)]
        key = f"in/part-{number:05d}{SUFFIX[kind]}"
        rows = readings(start, min(per_object, count - start))
        s3.put_object(Bucket=bucket, Key=key, Body=body(kind, rows, number % 2 == 1))
        keys.append(key)
    return keys


def outputs(s3: Any, bucket: str, skip: tuple[str, ...] = ("in/", "_sluice/")) -> dict[str, bytes]:
    """Every object of the bucket (key -> bytes) but those under `skip`."""
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if not obj["Key"].startswith(skip):
                found[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return found
