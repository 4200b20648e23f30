"""The types data flows in, in the order it flows: a source's `Record` at its `Position`,
the pipeline's `Item`s for one record (`Processed`), a route's rows between two positions
as the `Batch` every sink is given, and the `Cut` of one source partition that the engine
writes to every sink and then acks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Position(NamedTuple):
    """A place in a source partition, totally ordered.

    Kinesis sequence numbers are decimal strings of up to 128 bits; they are compared as
    integers. `sub` is the KPL sub-sequence number of a user record inside an aggregated
    record (0 for plain records).
    """

    sequence: int
    sub: int = 0

    def __str__(self) -> str:
        return f"{self.sequence}-{self.sub}"


@dataclass(slots=True)
class Record:
    """One record from any source.

    `source` is the stream or queue name, `partition` the shard id or queue, `position`
    where it sits in that partition. `arrival_time` is epoch seconds as the source stamped
    it. `data` holds the raw bytes exactly as received.
    """

    source: str
    partition: str
    position: Position
    partition_key: str
    arrival_time: float
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    attempt: int = 1


@dataclass(slots=True)
class Item:
    """One output row bound for one buffer (route and output partition)."""

    route: str
    output_partition: str
    row: dict[str, Any]
    line: bytes


Processed = tuple[list[Item], bool]
"""What the pipeline makes of one record: its items, and whether it was quarantined."""


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
    stage: str | None = None
    """Written for a cut not committed yet (the SQS ledger's): object stores stage it and
    make it visible at `Sink.publish(stage)`; databases ignore it (upserts)."""
    table: str | None = None
    """The route's own table in database sinks (`routes[].table`); else the sink's, else
    the route name (consumer/sinks/rows.py `target_table`)."""
    positions: list[Position] | None = None
    """The source position of each row (beside `rows` and `lines`): a table that commits
    the positions it holds skips, on a replay, the rows it already has (Iceberg)."""
    stable_positions: bool = True
    """Whether those positions identify the rows across replays (`Source.stable_positions`;
    the engine sets it from its source)."""

    @property
    def nbytes(self) -> int:
        return sum(len(line) for line in self.lines)


@dataclass(slots=True)
class Cut:
    """Everything of one source partition between two checkpoints."""

    partition: str
    first: Position
    last: Position
    batches: list[Batch]
    records: int
    quarantined: int
    filtered: int = 0
    """Records whose transform returned no rows: done, with nothing to write."""
    oldest_arrival: float | None = None
    """Earliest source arrival time (epoch s) in the cut, for the end-to-end lag."""
    quality: list[Any] = field(default_factory=list)
    """`QualityResult`s of the batches gated at flush (consumer/quality/cut.py)."""


@dataclass(slots=True)
class RouteKeys:
    """What database sinks need to know about a route's rows."""

    key_fields: tuple[str, ...] = ()
    version_field: str | None = None
    column_types: Mapping[str, Any] | None = None
    table: str | None = None
