"""Kinesis GetRecords entries as sluice records, KPL aggregates split into user records.

A user record of an aggregate gets the aggregate's sequence number and its index as the
sub-sequence number, the position the KCL gives it too. An aggregate whose digest is
valid but whose body is malformed cannot be split: it becomes one record carrying a
decode error, so it is quarantined whole rather than dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from consumer.errors import RecordError
from consumer.flow import Position, Record
from consumer.sources.kinesis import kpl


def to_records(
    stream: str, shard: str, entries: Iterable[dict[str, Any]]
) -> Iterator[tuple[Record, RecordError | None]]:
    magic = kpl.MAGIC
    for entry in entries:
        sequence = int(entry["SequenceNumber"])
        arrival = entry["ApproximateArrivalTimestamp"].timestamp()
        data: bytes = entry["Data"]
        if data[:4] != magic:  # the common case, a plain record, without a call
            record = Record(stream, shard, Position(sequence), entry["PartitionKey"], arrival, data)
            yield record, None
            continue
        try:
            users = kpl.split(data)
        except kpl.KplFormatError as exc:
            record = Record(stream, shard, Position(sequence), entry["PartitionKey"], arrival, data)
            yield record, RecordError("decode", "InvalidKplAggregate", str(exc))
            continue
        if users is None:
            yield (
                Record(stream, shard, Position(sequence), entry["PartitionKey"], arrival, data),
                None,
            )
            continue
        for sub, user in enumerate(users):
            yield (
                Record(
                    stream, shard, Position(sequence, sub), user.partition_key, arrival, user.data
                ),
                None,
            )
