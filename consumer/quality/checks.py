"""Compiled checks: a row check judges one row, a batch check judges a list of rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from consumer.errors import ConfigError
from consumer.loading import load_object
from consumer.quality.config import CheckConfig
from consumer.quality.expr import SafeExpression

Row = dict[str, Any]
RowTest = Callable[[Row], bool]
BATCH_KINDS = frozenset({"completeness", "uniqueness"})


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) / 1000 if value > 1e11 else float(value)  # ms or s since epoch
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def row_test(check: CheckConfig, where: str, clock: Callable[[], float] = time.time) -> RowTest:
    """The row test of a row check; raises ConfigError naming `where` on bad config."""
    field = check.field or ""
    if check.kind == "consistency":
        if check.expr is not None:
            return SafeExpression(check.expr, f"{where}.expr")
        fn = load_object(check.predicate or "", f"{where}.predicate")
        if not callable(fn):
            raise ConfigError(f"{where}.predicate: {check.predicate!r} is not callable")
        return lambda row: bool(fn(row))
    if check.kind == "range":
        low, high = check.min, check.max

        def in_range(row: Row) -> bool:
            value = row.get(field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            return (low is None or value >= low) and (high is None or value <= high)

        return in_range
    if check.kind == "allowed":
        return _allowed(check, field, where)
    if check.kind == "freshness":
        bound = check.max_age_s or 0.0

        def fresh(row: Row) -> bool:
            epoch = _epoch(row.get(field))
            return epoch is not None and clock() - epoch <= bound

        return fresh
    raise ConfigError(f"{where}.kind: {check.kind!r} is a batch check")


def _allowed(check: CheckConfig, field: str, where: str) -> RowTest:
    try:
        allowed = frozenset(check.values)
    except TypeError:
        raise ConfigError(f"{where}.values: only numbers, strings and booleans") from None
    return lambda row: _hashable(row.get(field)) and row.get(field) in allowed


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def batch_passes(check: CheckConfig, rows: Sequence[Row]) -> tuple[bool, str]:
    """Whether a batch check passes on `rows`, and what it measured."""
    if check.kind == "completeness":
        field = check.field or ""
        present = sum(1 for row in rows if row.get(field) is not None)
        ratio = present / len(rows) if rows else 1.0
        return ratio >= check.min_ratio, f"{field} present in {ratio:.3f} (min {check.min_ratio})"
    seen: set[tuple[Any, ...]] = set()
    duplicates = 0
    for row in rows:
        key = tuple(repr(row.get(name)) for name in check.fields)
        duplicates += key in seen
        seen.add(key)
    return duplicates == 0, f"{duplicates} duplicate {'/'.join(check.fields)} in batch"
