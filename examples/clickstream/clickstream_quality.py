"""Data quality for the clickstream purchases (docs/quality.md): a consistency predicate
and a correction, named by import path in a route's `quality` table."""

from __future__ import annotations

from typing import Any


def skus_within_count(row: dict[str, Any]) -> bool:
    """Consistency: a purchase has no more distinct SKUs than items."""
    return len(row.get("skus") or ()) <= int(row.get("item_count") or 0)


def normalise_purchase(row: dict[str, Any]) -> dict[str, Any] | None:
    """Correction: trim the user id and upper-case the currency; give up on anything else."""
    if not isinstance(row.get("currency"), str) or not isinstance(row.get("user_id"), str):
        return None
    row["currency"] = row["currency"].strip().upper()
    row["user_id"] = row["user_id"].strip()
    return row
