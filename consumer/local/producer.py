"""Put records on a Kinesis stream with PutRecords, retrying the ones that failed.

Used by the demo and tests; optionally packs records into KPL aggregates the way the
Kinesis Producer Library does, so the reader's de-aggregation runs on real wire data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from consumer.sources.kinesis import kpl

MAX_BATCH = 500


def aggregate_groups(
    records: Sequence[tuple[str, bytes]], group_size: int
) -> list[tuple[str, bytes]]:
    """Pack consecutive records into KPL aggregates of `group_size` user records."""
    packed = []
    for start in range(0, len(records), group_size):
        group = records[start : start + group_size]
        packed.append((group[0][0], kpl.aggregate(list(group))))
    return packed


def put_all(
    client: Any,
    stream: str,
    records: Sequence[tuple[str, bytes]],
    on_progress: Callable[[int], None] | None = None,
    max_attempts: int = 10,
) -> int:
    """Put (partition key, data) pairs; returns how many were put. Raises if any failed."""
    sent = 0
    for start in range(0, len(records), MAX_BATCH):
        pending = [
            {"PartitionKey": key, "Data": data} for key, data in records[start : start + MAX_BATCH]
        ]
        for attempt in range(max_attempts):
            response = client.put_records(StreamName=stream, Records=pending)
            if not response.get("FailedRecordCount"):
                break
            pending = [
                entry
                for entry, result in zip(pending, response["Records"], strict=True)
                if "ErrorCode" in result
            ]
            time.sleep(min(2.0, 0.05 * 2**attempt))
        else:
            raise RuntimeError(f"{len(pending)} records could not be put on {stream}")
        sent += min(MAX_BATCH, len(records) - start)
        if on_progress:
            on_progress(sent)
    return sent
