"""Upsert into an Iceberg table by the route's key, with the version guard the database
sinks have: an older replayed row never replaces a newer one.

Copy on write, as pyiceberg writes: the data files holding a replaced key are rewritten.
Rows of one cut sharing a key collapse to the newest first (highest version, else the
latest), since a table cannot take one key twice in one commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from pyiceberg.table import Table, Transaction
from pyiceberg.table.upsert_util import create_match_filter

from consumer.sinks.rows import version_wins


def newest_per_key(data: pa.Table, keys: Sequence[str], version: str | None) -> pa.Table:
    """One row per key, in the order the rows came: the highest version (ties and
    missing versions: the later row)."""
    key_values = list(zip(*(data.column(name).to_pylist() for name in keys), strict=True))
    versions = data.column(version).to_pylist() if version else None
    chosen: dict[tuple[Any, ...], int] = {}
    for index, key in enumerate(key_values):
        current = chosen.get(key)
        if current is None or versions is None or version_wins(versions[index], versions[current]):
            chosen[key] = index
    if len(chosen) == len(key_values):
        return data
    return data.take(pa.array(sorted(chosen.values()), type=pa.int64()))


def guarded(table: Table, data: pa.Table, keys: Sequence[str], version: str | None) -> pa.Table:
    """The rows of `data` whose key is new to the table or whose version is at least the
    stored one's."""
    if version is None or data.num_rows == 0:
        return data
    columns = list(keys)
    stored = table.scan(
        row_filter=create_match_filter(data, columns), selected_fields=(*columns, version)
    ).to_arrow()
    if stored.num_rows == 0:
        return data
    current = {tuple(row[name] for name in columns): row[version] for row in stored.to_pylist()}
    incoming = zip(
        zip(*(data.column(name).to_pylist() for name in columns), strict=True),
        data.column(version).to_pylist(),
        strict=True,
    )
    keep = [
        index
        for index, (key, value) in enumerate(incoming)
        if key not in current or version_wins(value, current[key])
    ]
    if len(keep) == data.num_rows:
        return data
    return data.take(pa.array(keep, type=pa.int64()))


def upsert(
    tx: Transaction,
    table: Table,
    data: pa.Table,
    keys: Sequence[str],
    version: str | None,
    properties: dict[str, str],
) -> int:
    """Stage the upsert of `data` in `tx`; the number of rows it sends (0: nothing to do)."""
    rows = guarded(table, newest_per_key(data, keys, version), keys, version)
    if rows.num_rows:
        tx.upsert(rows, join_cols=list(keys), snapshot_properties=properties)
    return int(rows.num_rows)
