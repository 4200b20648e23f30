"""What every sink is given and must do.

A sink receives one `Batch` at a time: the rows of one route, one output partition and one
source partition, between two source positions. `write` returns only when the rows are
durable; it raises otherwise. Writes must be idempotent: the same batch written twice
leaves the same effect as once (deterministic object keys, upserts), because a crash
between a write and the checkpoint replays the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from consumer.aws.clients import AwsClients
from consumer.flow import Batch
from consumer.pipeline.partitioning import PartitionConfig


@dataclass(slots=True)
class BuildContext:
    """What a config needs to build its running component."""

    aws: AwsClients
    base_dir: Path


RowCheck = Callable[[dict[str, Any], bytes], str | None]
"""Given a row and its JSON line, why a sink cannot store it exactly, or None."""


class LineCheck:
    """A row check that reads the JSON line only (the row it is given may be empty): a
    route whose sinks need nothing else keeps its line-only fast path (no row dicts)."""

    __slots__ = ("check",)

    def __init__(self, check: Callable[[bytes], str | None]) -> None:
        self.check = check

    def __call__(self, row: dict[str, Any], line: bytes) -> str | None:
        return self.check(line)


@dataclass(frozen=True, slots=True)
class RouteShape:
    """What a sink learns about a route that writes to it, before any record: enough to
    derive a table schema and partition spec (Parquet, Iceberg) and to check rows."""

    name: str
    row_model: type[BaseModel] | None
    """The pydantic model of the route's rows: its schema when it has no transform, else
    its `output_model` or the transform's annotated return type; None when unknown."""
    model_rows: bool = False
    """The rows are the model's own JSON (no transform): every row fits the model."""
    key_fields: tuple[str, ...] = ()
    version_field: str | None = None
    partition: PartitionConfig = field(default_factory=PartitionConfig)


class Sink(Protocol):
    """Writes one `Batch` at a time and returns only when it is durable."""

    name: str
    reads_rows: bool
    """Whether `write` reads `Batch.rows`; False when it needs only `Batch.lines` (S3),
    which lets routes without row checks or quality skip building row dicts."""

    writes_cuts: bool
    """Whether the flusher hands it all its batches of a cut in one `write_cut` call (a
    table that commits once a cut) instead of one `write` call per batch."""

    def write(self, batch: Batch) -> None: ...

    def write_cut(self, batches: Sequence[Batch]) -> None:
        """Write every batch of one cut that goes to this sink; durable on return."""

    def bind(self, route: RouteShape) -> RowCheck | None:
        """Called once per route that writes here, before any record: the check of that
        route's rows (see `row_check`), or None."""

    def is_retriable(self, exc: BaseException) -> bool: ...

    def row_check(self) -> RowCheck | None:
        """Why a row cannot be stored exactly (quarantined at stage `load` before it could
        fail a flush), or None when this sink can store every row."""

    def publish(self, stage: str) -> int:
        """Make the batches written with `Batch.stage == stage` visible, once their cut is
        committed (an object store stages them); the number made visible. Idempotent."""

    def close(self) -> None: ...


class SinkBase:
    """Defaults of the optional capabilities: reads rows, stores every row, stages nothing,
    writes batch by batch."""

    reads_rows = True
    writes_cuts = False

    def write(self, batch: Batch) -> None:
        raise NotImplementedError

    def write_cut(self, batches: Sequence[Batch]) -> None:
        for batch in batches:
            self.write(batch)

    def bind(self, route: RouteShape) -> RowCheck | None:
        return self.row_check()

    def row_check(self) -> RowCheck | None:
        return None

    def publish(self, stage: str) -> int:
        return 0  # writes are visible at once (databases upsert: a replay is harmless)
