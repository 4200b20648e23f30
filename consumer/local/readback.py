"""Read every output back and count what happened to each produced record.

The demo's figures come from here, never from the consumer's own counters: a record is
found in the lake (by its key field), in the quarantine (by its partition key) and in the
database, and `lost`, `duplicates` and `unexpected` are counted from what was found.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from consumer.sinks.s3 import iter_objects, iter_parquet


class Expected(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def expect(self) -> str: ...


@dataclass
class Found:
    lake: Counter[str] = field(default_factory=Counter)
    lake_route: dict[str, str] = field(default_factory=dict)
    quarantine: Counter[str] = field(default_factory=Counter)
    quarantine_stage: dict[str, str] = field(default_factory=dict)
    db: Counter[str] = field(default_factory=Counter)
    s3_objects: int = 0
    db_rows: int = 0
    parquet: Counter[str] = field(default_factory=Counter)
    """Keys in the Parquet objects (each record once, beside its JSON Lines copy)."""
    iceberg: Counter[str] = field(default_factory=Counter)
    """Keys in the Iceberg tables, read by scanning them."""
    parquet_routes: set[str] = field(default_factory=set)
    iceberg_routes: set[str] = field(default_factory=set)


def read_lake(
    found: Found, s3: Any, bucket: str, prefix: str, key_field: str, mirror: Path | None
) -> None:
    for key, rows in iter_objects(s3, bucket, prefix):
        found.s3_objects += 1
        route = key[len(prefix.rstrip("/")) + 1 :].split("/", 1)[0]
        for row in rows:
            found.lake[str(row[key_field])] += 1
            found.lake_route[str(row[key_field])] = route
        _mirror(mirror, key, rows)


def read_parquet(found: Found, s3: Any, bucket: str, prefix: str, key_field: str) -> None:
    for key, rows in iter_parquet(s3, bucket, prefix):
        found.parquet_routes.add(key[len(prefix.rstrip("/")) + 1 :].split("/", 1)[0])
        for row in rows:
            found.parquet[str(row[key_field])] += 1


def read_iceberg(found: Found, table: Any, route: str, key_field: str) -> None:
    """Every row of a table (a pyiceberg `Table`) by a scan of its current snapshot."""
    found.iceberg_routes.add(route)
    for value in table.scan(selected_fields=(key_field,)).to_arrow().column(key_field):
        found.iceberg[str(value.as_py())] += 1


def read_quarantine(found: Found, s3: Any, bucket: str, prefix: str, mirror: Path | None) -> None:
    for key, rows in iter_objects(s3, bucket, prefix):
        found.s3_objects += 1
        for row in rows:
            # SQS records are keyed by message id; the demo tags each with its event key.
            record_key = row.get("attributes", {}).get("event_key") or row["partition_key"]
            found.quarantine[record_key] += 1
            found.quarantine_stage[record_key] = row["stage"]
        _mirror(mirror, key, rows)


def read_sqlite(found: Found, path: Path, tables: Sequence[str], key_field: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            column = '"' + key_field.replace('"', '""') + '"'
            for (value,) in conn.execute(f"SELECT {column} FROM {quoted}"):
                found.db[str(value)] += 1
                found.db_rows += 1
    finally:
        conn.close()


def read_postgres(
    found: Found, url: str, schema: str, tables: Sequence[str], key_field: str
) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url) as conn:
        for table in tables:
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.Identifier(key_field), sql.Identifier(schema, table)
            )
            for (value,) in conn.execute(query):
                found.db[str(value)] += 1
                found.db_rows += 1


def _mirror(root: Path | None, key: str, rows: list[dict[str, Any]]) -> None:
    if root is None:
        return
    target = root / key.removesuffix(".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


def copies(
    events: Sequence[Expected], routes: set[str], counted: Counter[str], name: str
) -> dict[str, int]:
    """Rows, lost and duplicated records of one more copy of some routes (Parquet,
    Iceberg): every record bound for those routes must be there exactly once."""
    expected = {event.key for event in events if _route_of(event) in routes}
    return {
        f"{name}_rows": sum(counted.values()),
        f"{name}_lost": sum(1 for key in expected if counted[key] == 0),
        f"{name}_duplicates": sum(max(0, n - 1) for n in counted.values()),
        f"{name}_unexpected": len(set(counted) - expected),
    }


def _route_of(event: Expected) -> str | None:
    kind, _, name = event.expect.partition(":")
    return name if kind == "route" else None


def verdict(events: Sequence[Expected], found: Found) -> dict[str, int]:
    """Counts over every produced record, from what was read back."""
    lost = duplicates = unexpected = missing_in_db = 0
    produced = {event.key for event in events}
    for event in events:
        in_lake, in_quarantine = found.lake[event.key], found.quarantine[event.key]
        seen = in_lake + in_quarantine
        lost += seen == 0
        duplicates += max(0, seen - 1) + max(0, found.db[event.key] - 1)
        kind, _, name = event.expect.partition(":")
        if kind == "route":
            ok = in_lake and found.lake_route.get(event.key) == name
            missing_in_db += in_lake > 0 and found.db[event.key] == 0
        else:
            ok = in_quarantine and found.quarantine_stage.get(event.key) == name
        unexpected += seen > 0 and not ok
    strangers = (set(found.lake) | set(found.quarantine) | set(found.db)) - produced
    return {
        "records_produced": len(events),
        "records_written": sum(1 for key in produced if found.lake[key]),
        "records_quarantined": sum(1 for key in produced if found.quarantine[key]),
        "lost": lost,
        "duplicates": duplicates,
        "unexpected": unexpected + len(strangers),
        "missing_in_db": missing_in_db,
        "s3_objects": found.s3_objects,
        "db_rows": found.db_rows,
    }
