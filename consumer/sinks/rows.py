"""Row handling shared by the database sinks: one row per key, in key order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consumer.flow import Batch

Row = dict[str, Any]


def _newer(candidate: Row, current: Row, version: str | None) -> bool:
    """Whether `candidate` (later in source order) should replace `current`."""
    if version is None:
        return True
    return version_wins(candidate.get(version), current.get(version))


def version_wins(new: Any, old: Any) -> bool:
    """Whether a row of version `new` replaces one of version `old`: a missing old version
    loses, a missing new one never wins, versions that do not compare let the later win."""
    if old is None:
        return True
    if new is None:
        return False
    try:
        return bool(new >= old)
    except TypeError:
        return True


def one_per_key(rows: Sequence[Row], keys: Sequence[str], version: str | None) -> list[Row]:
    """Collapse rows sharing a key to the newest (highest version, else latest), sorted by key.

    A database upsert cannot touch one row twice in a statement, and sorted keys make
    concurrent writers take row locks in the same order, so they do not deadlock.
    """
    if len(keys) == 1:  # the common case: a string per row, no tuple (same order)
        (field,) = keys
        single: dict[str, Row] = {}
        for row in rows:
            text = str(row.get(field))
            current = single.get(text)
            if current is None or _newer(row, current, version):
                single[text] = row
        return [single[text] for text in sorted(single)]
    chosen: dict[tuple[str, ...], Row] = {}
    for row in rows:
        key = tuple(str(row.get(k)) for k in keys)
        current = chosen.get(key)
        if current is None or _newer(row, current, version):
            chosen[key] = row
    return [chosen[key] for key in sorted(chosen)]


def columns_of(rows: Sequence[Row], keys: Sequence[str]) -> list[str]:
    """Every column any row has, keys first, then by name."""
    names = {name for row in rows for name in row}
    return [*keys, *sorted(names - set(keys))]


def target_table(batch: Batch, sink_table: str | None) -> str:
    """Where a database sink writes a batch: the route's own `table`, else the sink's
    `table`, else the route name (several routes may share one sink, each its own table)."""
    return batch.table or sink_table or batch.route
