"""What every sink is given and must do.

A sink receives one `Batch` at a time: the rows of one route, one output partition and one
source partition, between two source positions. `write` returns only when the rows are
durable; it raises otherwise. Writes must be idempotent: the same batch written twice
leaves the same effect as once (deterministic object keys, upserts), because a crash
between a write and the checkpoint replays the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from consumer.aws import AwsClients
from consumer.record import Position


@dataclass(slots=True)
class Batch:
    route: str
    source: str
    partition: str
    output_partition: str
    first_position: Position
    last_position: Position
    rows: list[dict[str, Any]]
    lines: list[bytes]
    key_fields: tuple[str, ...] = ()
    version_field: str | None = None
    column_types: Mapping[str, Any] | None = None
    """Python types of the columns, from the route's output model, for create-if-missing."""
    quality: dict[str, Any] | None = None
    """The route's quality result for this batch (consumer/quality), when it has checks."""

    @property
    def nbytes(self) -> int:
        return sum(len(line) for line in self.lines)


@dataclass(slots=True)
class BuildContext:
    """What a config needs to build its running component."""

    aws: AwsClients
    base_dir: Path


RowCheck = Callable[[dict[str, Any], bytes], str | None]
"""Given a row and its JSON line, why a sink cannot store it exactly, or None."""


class Sink(Protocol):
    name: str

    def write(self, batch: Batch) -> None: ...

    def is_retriable(self, exc: BaseException) -> bool: ...

    def close(self) -> None: ...


def reads_rows(sink: object) -> bool:
    """Whether the sink reads `Batch.rows` (most do); one that writes only `Batch.lines`
    says so with a class attribute `reads_rows = False`."""
    return bool(getattr(sink, "reads_rows", True))


def row_check_of(sink: object) -> RowCheck | None:
    """The sink's `reject_reason(row, line)` if it has one: sinks opt in to row checks."""
    check = getattr(sink, "reject_reason", None)
    return check if callable(check) else None
