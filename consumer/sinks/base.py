"""What every sink is given and must do.

A sink receives one `Batch` at a time: the rows of one route, one output partition and one
source partition, between two source positions. `write` returns only when the rows are
durable; it raises otherwise. Writes must be idempotent: the same batch written twice
leaves the same effect as once (deterministic object keys, upserts), because a crash
between a write and the checkpoint replays the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from consumer.aws.clients import AwsClients
from consumer.flow import Batch


@dataclass(slots=True)
class BuildContext:
    """What a config needs to build its running component."""

    aws: AwsClients
    base_dir: Path


RowCheck = Callable[[dict[str, Any], bytes], str | None]
"""Given a row and its JSON line, why a sink cannot store it exactly, or None."""


class Sink(Protocol):
    """Writes one `Batch` at a time and returns only when it is durable."""

    name: str
    reads_rows: bool
    """Whether `write` reads `Batch.rows`; False when it needs only `Batch.lines` (S3),
    which lets routes without row checks or quality skip building row dicts."""

    def write(self, batch: Batch) -> None: ...

    def is_retriable(self, exc: BaseException) -> bool: ...

    def row_check(self) -> RowCheck | None:
        """Why a row cannot be stored exactly (quarantined at stage `load` before it could
        fail a flush), or None when this sink can store every row."""

    def publish(self, stage: str) -> int:
        """Make the batches written with `Batch.stage == stage` visible, once their cut is
        committed (an object store stages them); the number made visible. Idempotent."""

    def close(self) -> None: ...


class SinkBase:
    """Defaults of the optional capabilities: reads rows, stores every row, stages nothing."""

    reads_rows = True

    def row_check(self) -> RowCheck | None:
        return None

    def publish(self, stage: str) -> int:
        return 0  # writes are visible at once (databases upsert: a replay is harmless)
