"""Rows per second into PostgreSQL: the sink's upsert beside a plain `executemany` upsert of
the same rows, into the same kind of table, interleaved in the same run, at the batch size
the group names (the buffer's cut: one `Batch`, one transaction).

The baseline is the fast way a Python user would write it: psycopg 3 runs `executemany` in
pipeline mode, one `INSERT ... ON CONFLICT DO UPDATE ... WHERE version <=` a row, one
transaction a batch. Both carry the monotonic version guard. Each round writes every row
twice into an emptied table (inserted, then updated to a newer version); the rows are built
and the table emptied outside the timed part. The figure of each candidate is read as
load_tests/timing.py reads it: the baseline's median, times the median of same-round ratios.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from consumer.flow import Batch, Position
from consumer.sinks.postgres import PostgresSink, PostgresSinkConfig
from load_tests.timing import ROUNDS

URL = os.environ.get("SLUICE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROWS = 10_000
BATCHES = (500, 5_000)
DDL = (
    "CREATE TABLE {t} (id text PRIMARY KEY, version bigint, user_id text, amount numeric, "
    "at timestamptz, payload jsonb)"
)


def _rows(version: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": f"row-{i:06d}",
            "version": version,
            "user_id": f"user-{i % 97}",
            "amount": i * 1.25,
            "at": now,
            "payload": {"i": i, "tags": ["a", "b"]},
        }
        for i in range(ROWS)
    ]


def _batches(rows: list[dict[str, Any]], size: int) -> list[Batch]:
    return [
        Batch(
            route="bench",
            source="s",
            partition="p",
            output_partition="",
            first_position=Position(i),
            last_position=Position(i),
            lines=[],
            rows=rows[i : i + size],
            key_fields=("id",),
            version_field="version",
        )
        for i in range(0, len(rows), size)
    ]


def _executemany(conn: psycopg.Connection[Any], table: str, batch: Batch) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (id, version, user_id, amount, at, payload) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "version = EXCLUDED.version, user_id = EXCLUDED.user_id, amount = EXCLUDED.amount, "
            f"at = EXCLUDED.at, payload = EXCLUDED.payload WHERE {table}.version <= "
            "EXCLUDED.version",
            [
                (
                    r["id"],
                    r["version"],
                    r["user_id"],
                    r["amount"],
                    r["at"],
                    psycopg.types.json.Jsonb(r["payload"]),
                )
                for r in batch.rows
            ],
        )


def _interleaved(
    candidates: list[tuple[str, str, Callable[[Batch], None]]],
    admin: psycopg.Connection[Any],
    passes: list[list[Batch]],
) -> list[tuple[str, float]]:
    """(name, rows per second) of (name, table, write) candidates, the first the baseline."""
    written = sum(len(batch.rows) for batches in passes for batch in batches)
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in candidates}
    for round_ in range(ROUNDS + 1):  # the first round warms up: connections, caches
        for name, table, write in candidates:
            admin.execute(f"TRUNCATE {table}")
            gc.collect()
            start = time.perf_counter()
            for batches in passes:
                for batch in batches:
                    write(batch)
            if round_:
                seconds[name].append(time.perf_counter() - start)
    base = seconds[candidates[0][0]]
    rate = written / statistics.median(base)
    return [
        (name, rate * statistics.median(b / t for t, b in zip(seconds[name], base, strict=True)))
        for name, _, _ in candidates
    ]


def title(batch_rows: int) -> str:
    return (
        f"postgres upsert with the version guard, {ROWS:,} rows inserted then updated, "
        f"batches of {batch_rows:,}, interleaved median of {ROUNDS}"
    )


def run(batch_rows: int) -> list[tuple[str, float]]:
    """(name, rows per second) pairs at one batch size, or [] with a note when PostgreSQL
    is unreachable."""
    try:
        admin = psycopg.connect(URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"postgres benchmark skipped: {URL} unreachable ({exc})")
        return []
    suffix = uuid.uuid4().hex[:8]
    plain, sluice = f"bench_plain_{suffix}", f"bench_sluice_{suffix}"
    passes = [_batches(_rows(version), batch_rows) for version in (1, 2)]
    try:
        for table in (plain, sluice):
            admin.execute(DDL.format(t=table))
        sink = PostgresSink(
            "bench", PostgresSinkConfig.model_validate({"url": URL, "table": sluice})
        )
        try:
            with psycopg.connect(URL) as conn:
                rows = _interleaved(
                    [
                        (plain, plain, lambda b: _executemany(conn, plain, b)),
                        (sluice, sluice, sink.write),
                    ],
                    admin,
                    passes,
                )
        finally:
            sink.close()
    finally:
        for table in (plain, sluice):
            admin.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()
    names = {
        plain: f"postgres upsert, executemany, {batch_rows:,}-row batches (baseline)",
        sluice: f"postgres upsert, sluice sink, {batch_rows:,}-row batches",
    }
    return [(names[name], rate) for name, rate in rows]
