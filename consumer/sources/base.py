"""What every source is to the delivery engine: it reads units of records and acks the cuts
the engine hands back, nothing more (the Redpanda Connect shape: an input returns a batch,
the engine owns processing, buffering, output and the ack).

A `Unit` is what one read gave for one source partition: the records of a GetRecords
response, of an SQS message, of a KCL processRecords call, or a chunk of a batch job's
input. The engine runs it through the pipeline, buffers its items per partition, writes
each due cut to every sink and only then calls `Source.ack(cut)`. Each implementation's
docstring states its delivery guarantee.

Optional capabilities have defaults in `SourceBase`: taking a unit back for a later retry
(SQS redelivery), a fence checked before each write (a KCL lease, an SQS claim), the end
of a partition (a Kinesis shard), how far behind the source is (iterator age, records).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consumer.errors import RecordError
from consumer.flow import Cut, Position, Processed, Record

NO_ERRORS: Mapping[int, RecordError] = {}


@dataclass(slots=True)
class Unit:
    """Records of one source partition, as one read gave them."""

    partition: str
    records: Sequence[Record]
    errors: Mapping[int, RecordError] = field(default_factory=lambda: NO_ERRORS)
    """Records (by index) the source could not read: quarantined with their error."""
    outcomes: Sequence[Processed] | None = None
    """Outcomes decided already (a replay of quarantined records); else the pipeline runs."""
    position: Position | None = None
    """Where a unit without records sits, if it must still ride the next cut to its ack."""
    arrival_time: float | None = None
    atomic: bool = False
    """Never cut inside this unit: it is acked whole (an SQS message and its lines)."""
    joined: bool = False
    """Never cut between this atomic unit and the next one either (the messages of one
    SQS read, claimed together in the ledger for the open cut)."""
    last: bool = False
    """The partition ends after this unit (a Kinesis shard at SHARD_END)."""
    token: Any = None
    """The source's own handle on what it read (an SQS message)."""


class Source(Protocol):
    kind: str
    """"kinesis", "sqs" or "batch": the kind of source in metrics and logs."""
    name: str
    """Stream, queue or job input name: the metrics' `source` dimension."""
    origin: str
    """What the batches' `source` field carries, part of every S3 key."""
    retry_stages: frozenset[str]
    """Records failing at these stages go back to the source (`retry`), not to quarantine."""
    stable_positions: bool
    """A record's position is its identity: ordered within its partition, the same when
    replayed. A table that records the positions it committed (Iceberg) may then skip
    what a replay brings again; otherwise it commits every row (at-least-once)."""

    def open(self) -> None:
        """Resolve names, start receivers; before the first read."""

    def read(self) -> Iterable[Unit]:
        """What is ready now, lazily (the engine may flush between units); may wait
        briefly when nothing is."""

    def ack(self, cut: Cut) -> bool:
        """Every sink confirmed `cut`: the source may let go of everything up to its end.
        False when the source refuses it at its commit (a fence only the commit can check:
        the SQS ledger found the cut aborted); the engine then drops the partition."""

    def retry(self, unit: Unit, failure: Mapping[str, Any]) -> bool:
        """Take `unit` back: it failed at one of `retry_stages` (`failure` is its envelope).
        True when it was left for a later attempt (False: set aside for good, a DLQ)."""

    def fence(self, cut: Cut) -> bool:
        """Whether `cut` may still be written: False drops it (another owner took over)."""

    def ended(self, partition: str) -> None:
        """The partition's last unit is written and acked."""

    def lag_ms(self) -> int | None:
        """How far behind the newest record the source reads, when it knows."""

    def records_behind(self) -> float | None:
        """Records between where the source reads and the newest, summed over its
        partitions, when it knows (Kinesis: `KinesisRecordsBehind`)."""

    def caught_up(self) -> bool:
        """Nothing more to read right now (`--until-idle` then flushes what is buffered)."""

    def drained(self) -> bool:
        """Caught up with nothing in flight: `--until-idle` may stop."""

    def close(self) -> None:
        """Release what is held and not acked (SQS: visible again), without acking."""


class SourceBase:
    """Defaults for the optional capabilities of `Source`."""

    kind = "source"
    name = "source"
    origin = "source"
    retry_stages: frozenset[str] = frozenset()
    stable_positions = True

    def open(self) -> None:
        return None

    def retry(self, unit: Unit, failure: Mapping[str, Any]) -> bool:
        raise NotImplementedError(f"{type(self).__name__} retries nothing")

    def fence(self, cut: Cut) -> bool:
        return True

    def ended(self, partition: str) -> None:
        return None

    def lag_ms(self) -> int | None:
        return None

    def records_behind(self) -> float | None:
        return None

    def caught_up(self) -> bool:
        return False

    def drained(self) -> bool:
        return self.caught_up()

    def close(self) -> None:
        return None
