"""Buffers of one source partition, and the cut that turns them into batches.

Rows are buffered per route and output partition. When any buffer reaches its record or
byte limit, or the oldest buffered record reaches its age limit, the whole source
partition is cut: every buffer becomes a `Batch` and the cut's last position is what the
source may ack once all of them are written. Cutting the whole partition keeps the ack a
single position (a Kinesis checkpoint), and it means that at most one cut per partition is
ever written but not acked. Each of its batches starts at the first record of its route
and output partition after the checkpoint, so a replay, wherever it cuts, rebuilds a batch
with the same first position, hence the same S3 key, and overwrites it
(docs/decisions.md, "Exactly-once objects without a write-ahead fence").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consumer.flow import Batch, Cut, Item, Position, RouteKeys


@dataclass(slots=True)
class _Buffer:
    first: Position
    last: Position
    max_records: int
    max_bytes: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    nbytes: int = 0


class BufferConfig(BaseModel):
    """Firehose-style buffering hints: a buffer flushes on whichever limit it reaches first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_records: int = Field(500, gt=0, description="rows per buffer")
    max_bytes: int = Field(5_000_000, gt=0, description="encoded bytes per buffer")
    max_age_s: float = Field(5.0, gt=0, description="seconds since the first buffered record")


class PartitionBatcher:
    def __init__(
        self,
        source: str,
        partition: str,
        default_limits: BufferConfig,
        route_limits: Mapping[str, BufferConfig] | None = None,
        route_keys: Mapping[str, RouteKeys] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.partition = partition
        self.default_limits = default_limits
        self.route_limits = dict(route_limits or {})
        self.route_keys = dict(route_keys or {})
        self.clock = clock
        self._reset()

    def _reset(self) -> None:
        self.buffers: dict[tuple[str, str], _Buffer] = {}
        self.first: Position | None = None
        self.last: Position | None = None
        self.records = 0
        self.quarantined = 0
        self.filtered = 0
        self.oldest_arrival: float | None = None
        self.opened_at: float | None = None
        self.full = False
        self._age_limit_s: float | None = None
        """The smallest `max_age_s` among the routes buffered: `due` is asked once a unit."""

    @property
    def pending(self) -> bool:
        return self.last is not None

    def add(
        self,
        position: Position,
        items: Iterable[Item],
        quarantined: bool = False,
        arrival_time: float | None = None,
    ) -> None:
        if self.first is None:
            self.first = position
            self.opened_at = self.clock()
        self.last = position
        self.records += 1
        if quarantined:
            self.quarantined += 1
        if arrival_time is not None and (
            self.oldest_arrival is None or arrival_time < self.oldest_arrival
        ):
            self.oldest_arrival = arrival_time
        added = False
        buffers = self.buffers
        for item in items:
            added = True
            buf = buffers.get((item.route, item.output_partition))
            if buf is None:
                buf = self._open(item, position)
            line = item.line
            buf.last = position
            buf.rows.append(item.row)
            buf.lines.append(line)
            buf.positions.append(position)
            buf.nbytes += len(line)
            if len(buf.lines) >= buf.max_records or buf.nbytes >= buf.max_bytes:
                self.full = True
        if not (added or quarantined):
            self.filtered += 1

    def _open(self, item: Item, position: Position) -> _Buffer:
        limits = self.route_limits.get(item.route, self.default_limits)
        buf = self.buffers[(item.route, item.output_partition)] = _Buffer(
            position, position, limits.max_records, limits.max_bytes
        )
        if self._age_limit_s is None or limits.max_age_s < self._age_limit_s:
            self._age_limit_s = limits.max_age_s
        return buf

    def due(self) -> bool:
        if self.last is None:
            return False
        if self.full:
            return True
        assert self.opened_at is not None
        limit = self._age_limit_s
        return self.clock() - self.opened_at >= (
            self.default_limits.max_age_s if limit is None else limit
        )

    def cut(self) -> Cut:
        assert self.first is not None and self.last is not None, "nothing to cut"
        batches = [self._batch(route, part, buf) for (route, part), buf in self.buffers.items()]
        cut = Cut(
            self.partition,
            self.first,
            self.last,
            batches,
            self.records,
            self.quarantined,
            self.filtered,
            self.oldest_arrival,
        )
        self._reset()
        return cut

    def _batch(self, route: str, output_partition: str, buf: _Buffer) -> Batch:
        keys = self.route_keys.get(route, RouteKeys())
        return Batch(
            route=route,
            source=self.source,
            partition=self.partition,
            output_partition=output_partition,
            first_position=buf.first,
            last_position=buf.last,
            rows=buf.rows,
            lines=buf.lines,
            key_fields=keys.key_fields,
            version_field=keys.version_field,
            column_types=keys.column_types,
            table=keys.table,
            positions=buf.positions,
        )
