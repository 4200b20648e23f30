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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
