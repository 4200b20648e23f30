"""A bounded input as a source: the records of one batch-job input (an S3 object, a
Parquet file, pages of an HTTP API or of a database table), read to their end.

Delivery: every record is written once its cut is acked; `on_ack(cut)` is where a
resumable job stores its cursor, after every sink confirmed the records before it. The
records carry positions from where they sit in their input (object and line, cursor and
offset), so a rerun after a crash rebuilds batches with the same first positions, hence
the same S3 keys: outputs are overwritten, not duplicated (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice

from consumer.errors import RecordError
from consumer.flow import Cut, Processed, Record
from consumer.sources.base import NO_ERRORS, SourceBase, Unit


class BoundedSource(SourceBase):
    kind = "batch"

    def __init__(
        self,
        name: str,
        partition: str,
        records: Iterable[Record],
        on_ack: Callable[[Cut], None],
        *,
        outcomes: Sequence[Processed] | None = None,
        errors: Mapping[int, RecordError] | None = None,
        chunk: int = 256,
        stable_positions: bool = True,
    ) -> None:
        self.name = self.origin = name
        self.stable_positions = stable_positions
        self.partition = partition
        self.records = iter(records)
        self.on_ack = on_ack
        self.outcomes = outcomes
        self.errors = errors or NO_ERRORS
        self.chunk = chunk
        self.exhausted = False

    def read(self) -> Iterator[Unit]:
        start = 0
        while True:
            records = list(islice(self.records, self.chunk))
            if not records:
                self.exhausted = True
                return
            end = start + len(records)
            outcomes = None if self.outcomes is None else self.outcomes[start:end]
            errors = {
                index - start: error for index, error in self.errors.items() if start <= index < end
            }
            yield Unit(self.partition, records, errors or NO_ERRORS, outcomes)
            start = end

    def ack(self, cut: Cut) -> bool:
        self.on_ack(cut)
        return True

    def caught_up(self) -> bool:
        return self.exhausted
