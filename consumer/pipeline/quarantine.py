"""The error envelope a failed record is quarantined with.

Everything needed to understand and replay the record travels with it: where it failed
(stage, error type, message), where it came from (source, partition, position, partition
key, arrival time) and its exact bytes, base64-encoded.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from consumer.errors import RecordError
from consumer.flow import Record

QUARANTINE_ROUTE = ""
"""Route name of quarantine batches; S3 keys then sit right under the quarantine prefix."""


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")


def envelope(record: Record, error: RecordError, route: str | None) -> dict[str, Any]:
    return {
        "stage": error.stage,
        "error_type": error.error_type,
        "message": error.message,
        "route": route,
        "source": record.source,
        "partition": record.partition,
        "sequence_number": str(record.position.sequence),
        "sub_sequence_number": record.position.sub,
        "partition_key": record.partition_key,
        "arrival_time": _iso(record.arrival_time),
        "attempt": record.attempt,
        "attributes": dict(record.attributes),
        "quarantined_at": _iso(time.time()),
        "data_base64": base64.b64encode(record.data).decode("ascii"),
    }


def original_bytes(envelope_row: dict[str, Any]) -> bytes:
    """The record's bytes as they were received, for replay."""
    return base64.b64decode(envelope_row["data_base64"])
