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
