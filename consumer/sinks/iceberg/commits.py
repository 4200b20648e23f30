"""What each Iceberg commit records, and what the table has committed already.

Every snapshot sluice commits carries, in its summary, who wrote it and the source
positions it covers: `sluice.writer`, then either `sluice.source`, `sluice.partition`,
`sluice.first`, `sluice.last` (a Kinesis shard, a KCL lease, a batch input: positions
totally ordered within a partition) or `sluice.cut` (an SQS ledger cut, whose messages the
ledger pins). Cuts of one partition commit in order and each holds every row of the
partition between the previous cut and its end, so after a crash the sink needs one fact
per partition, the last position committed, to know which rows of a replayed cut the
table has: those at or before it. The same idea as the checkpoint ids the Flink and Kafka
Connect Iceberg sinks keep in snapshot summaries.

`CommitIndex` reads those facts from the snapshot history, newest first, and remembers how
far it read, so each commit walks only the snapshots added since the one before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from consumer.flow import Position

WRITER = "sluice.writer"
SOURCE = "sluice.source"
PARTITION = "sluice.partition"
FIRST = "sluice.first"
LAST = "sluice.last"
CUT = "sluice.cut"


def position_properties(
    writer: str, source: str, partition: str, first: Position, last: Position
) -> dict[str, str]:
    return {
        WRITER: writer,
        SOURCE: source,
        PARTITION: partition,
        FIRST: str(first),
        LAST: str(last),
    }


def cut_properties(writer: str, stage: str) -> dict[str, str]:
    return {WRITER: writer, CUT: stage}


def parse_position(text: str) -> Position:
    sequence, _, sub = text.partition("-")
    return Position(int(sequence), int(sub or 0))


def history(metadata: TableMetadata) -> Iterator[Snapshot]:
    """The current snapshot and its ancestors, newest first, then the snapshots older than
    the oldest of them, newest first: those expiry kept apart from the chain (the last
    commit of each partition, consumer/sinks/iceberg/maintenance.py; expiry leaves them
    without a parent). With the whole history there are none. Snapshots a rollback left
    behind are newer than the rollback's target, so they are never read."""
    oldest: Snapshot | None = None
    for snapshot in ancestors_of(metadata.current_snapshot(), metadata):
        oldest = snapshot
        yield snapshot
    if oldest is None:
        return
    floor = oldest.sequence_number or 0
    kept = [s for s in metadata.snapshots if (s.sequence_number or 0) < floor]
    yield from sorted(kept, key=lambda s: s.sequence_number or 0, reverse=True)


def summary_of(snapshot: Snapshot) -> dict[str, str]:
    return {} if snapshot.summary is None else snapshot.summary.additional_properties


def last_commits(metadata: TableMetadata) -> dict[tuple[str, str, str], int]:
    """The snapshot of each (writer, source, partition)'s last commit: what expiry keeps."""
    found: dict[tuple[str, str, str], int] = {}
    for snapshot in history(metadata):
        summary = summary_of(snapshot)
        writer, source = summary.get(WRITER), summary.get(SOURCE)
        partition = summary.get(PARTITION)
        if writer is not None and source is not None and partition is not None:
            found.setdefault((writer, source, partition), snapshot.snapshot_id)
    return found


@dataclass
class CommitIndex:
    """The last committed position of each (source, partition) and the committed cut ids,
    of one writer in one table, as of the snapshot `head`."""

    writer: str
    head: int | None = None
    last: dict[tuple[str, str], Position] = field(default_factory=dict)
    cuts: set[str] = field(default_factory=set)

    def update(self, snapshots: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        """Read `snapshots` ((id, summary) of the current snapshot and its ancestors,
        newest first) down to the last head read. When that head is no longer among them
        (the table was rolled back or rewritten), everything is read again."""
        newest: int | None = None
        last: dict[tuple[str, str], Position] = {}
        cuts: set[str] = set()
        reached = False
        for snapshot_id, summary in snapshots:
            if newest is None:
                newest = snapshot_id
            if snapshot_id == self.head:
                reached = True
                break
            if summary.get(WRITER) != self.writer:
                continue
            cut = summary.get(CUT)
            if cut is not None:
                cuts.add(cut)
            source, partition, end = summary.get(SOURCE), summary.get(PARTITION), summary.get(LAST)
            if source is not None and partition is not None and end is not None:
                last.setdefault((source, partition), parse_position(end))
        if not reached:
            self.last, self.cuts = {}, set()
        for key, position in last.items():
            self.last[key] = position  # newer than anything read before
        self.cuts |= cuts
        self.head = newest

    def committed(self, source: str, partition: str) -> Position | None:
        return self.last.get((source, partition))


def without_pyiceberg_retries(table: Table) -> Table:
    """The same table, whose transactions fail on a conflict instead of re-applying the
    planned snapshot onto the new one, unchecked (docs/decisions.md): the caller plans
    again itself.
    Only this in-memory copy's properties change; nothing is written to the table."""
    properties = {**table.metadata.properties, "commit.retry.num-retries": "0"}
    metadata = table.metadata.model_copy(update={"properties": properties})
    return Table(table.name(), metadata, table.metadata_location, table.io, table.catalog)
