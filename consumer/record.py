"""The envelope every source produces, and the position type acks are expressed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


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
