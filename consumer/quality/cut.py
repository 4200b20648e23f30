"""Apply the routes' quality gates to a cut, just before its batches are written.

A route batch is replaced by the rows the gate kept; rows it rejected become quarantine
rows (stage ``quality``) in a batch of their own under ``quality/<route>/<partition>``, so
its key never collides with the cut's other quarantine batch. Every gated batch carries
its `QualityResult` (S3: object tags and a manifest object); the cut lists them all.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from consumer.flow import Batch, Cut
from consumer.pipeline.quarantine import QUARANTINE_ROUTE
from consumer.quality.gate import RouteQuality

log = logging.getLogger(__name__)
_ENCODE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
QUALITY_STAGE = "quality"


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")


def _envelope(batch: Batch, row: dict[str, Any], error_type: str, message: str) -> dict[str, Any]:
    """The quarantine envelope of an output row: its source range is the batch's, its bytes
    the row's JSON (the record it came from was already transformed)."""
    now = _iso(time.time())
    return {
        "stage": QUALITY_STAGE,
        "error_type": error_type,
        "message": message,
        "route": batch.route,
        "source": batch.source,
        "partition": batch.partition,
        "sequence_number": str(batch.first_position.sequence),
        "sub_sequence_number": batch.first_position.sub,
        "partition_key": None,
        "arrival_time": now,
        "attempt": 0,
        "attributes": {"last_position": str(batch.last_position), "output": "row"},
        "quarantined_at": now,
        "data_base64": base64.b64encode(orjson.dumps(row, option=_ENCODE)).decode("ascii"),
    }


def apply_quality(cut: Cut, gates: Mapping[str, RouteQuality]) -> None:
    """Gate every batch of a route with checks, in place."""
    batches: list[Batch] = []
    for batch in cut.batches:
        gate = gates.get(batch.route)
        if gate is None or batch.route == QUARANTINE_ROUTE:
            batches.append(batch)
            continue
        outcome = gate.evaluate(batch.output_partition, batch.rows, batch.lines)
        result = outcome.result
        cut.quality.append(result)
        metadata = result.as_dict()
        if outcome.rows:
            batch.rows, batch.lines, batch.quality = outcome.rows, outcome.lines, metadata
            batches.append(batch)
        if outcome.rejected:
            rows = [_envelope(batch, row, kind, why) for row, kind, why in outcome.rejected]
            batches.append(
                Batch(
                    route=QUARANTINE_ROUTE,
                    source=batch.source,
                    partition=batch.partition,
                    output_partition=f"quality/{batch.route}/{batch.output_partition}",
                    first_position=batch.first_position,
                    last_position=batch.last_position,
                    rows=rows,
                    lines=[orjson.dumps(row, option=_ENCODE) for row in rows],
                    quality=metadata,
                )
            )
        if not result.passed:
            level = logging.WARNING if result.decision != "write" else logging.INFO
            log.log(level, "batch below quality threshold", extra=metadata)
    cut.batches = batches
