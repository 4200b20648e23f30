"""Rows per second into PostgreSQL: the sink's staged-COPY upsert beside a plain
`executemany` upsert of the same rows, into the same kind of table, in the same run."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from consumer.flow import Batch, Position
from consumer.sinks.postgres import PostgresSink, PostgresSinkConfig

URL = os.environ.get("SLUICE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ROWS = 5_000
BATCH = 500
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


def _batches(rows: list[dict[str, Any]]) -> list[Batch]:
    return [
        Batch(
            route="bench",
            source="s",
            partition="p",
            output_partition="",
            first_position=Position(i),
            last_position=Position(i),
            lines=[],
            rows=rows[i : i + BATCH],
            key_fields=("id",),
            version_field="version",
        )
        for i in range(0, len(rows), BATCH)
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


def _timed(write: Callable[[Batch], None]) -> float:
    """Rows per second: a first pass inserting, a second pass updating every row."""
    start = time.perf_counter()
    for version in (1, 2):
        for batch in _batches(_rows(version)):
            write(batch)
    return 2 * ROWS / (time.perf_counter() - start)


def run() -> list[tuple[str, float]]:
    """(name, rows per second) pairs, or [] with a note when PostgreSQL is unreachable."""
    try:
        admin = psycopg.connect(URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"postgres benchmark skipped: {URL} unreachable ({exc})")
        return []
    suffix = uuid.uuid4().hex[:8]
    staged, plain = f"bench_staged_{suffix}", f"bench_plain_{suffix}"
    try:
        for table in (staged, plain):
            admin.execute(DDL.format(t=table))
        sink = PostgresSink(
            "bench", PostgresSinkConfig.model_validate({"url": URL, "table": staged})
        )
        try:
            staged_rate = _timed(sink.write)
        finally:
            sink.close()
        with psycopg.connect(URL) as conn:
            plain_rate = _timed(lambda b: _executemany(conn, plain, b))
    finally:
        for table in (staged, plain):
            admin.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()
    return [
        ("postgres upsert, executemany (baseline)", plain_rate),
        ("postgres upsert, staged COPY (sluice sink)", staged_rate),
    ]
