"""The one delivery loop: read -> process -> buffer -> flush -> ack, written once.

Every source (the Kinesis polling reader, the KCL shard processor, SQS, the bounded
inputs of batch jobs) is an adapter onto this engine: it reads `Unit`s and acks the cuts
the engine hands back (consumer/sources/base.py). The engine runs each unit through the
pipeline (decode, route, validate, transform; a failure at any stage becomes a quarantine
item), buffers the items per source partition, writes a partition's cut to every sink
when it is due, and only then acks it. It owns the crash point between the write and the
ack, the stats and the hooks (metrics, health, protection), so each appears once.

Delivery: a cut is acked only after every sink of every batch in it confirmed; a failed
write is retried as a whole cut up to `cut_attempts` times, then raises `SinkError` with
nothing acked; a `SinkConfigError` (a sink's diagnosis of an error its config causes) is
raised at once, since every attempt would fail the same way. At most one cut per
partition is ever written and not acked, which is what makes replays overwrite S3 objects
instead of duplicating them (docs/decisions.md).

Pull sources are driven by `run`; a push source (the KCL child, whose daemon calls it)
calls `take`, `flush` and `discard` itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from consumer.delivery.buffer import PartitionBatcher
from consumer.delivery.hooks import FlushInfo, Hooks
from consumer.delivery.retry import RetryConfig, backoff_delay
from consumer.delivery.stats import Stats
from consumer.errors import ConfigError, SinkError
from consumer.flow import Cut, Processed
from consumer.pipeline.process import Pipeline
from consumer.sources.base import Source, Unit
from consumer.testing.faults import crash_point, hold_point

log = logging.getLogger(__name__)
BatcherFactory = Callable[[str, str], PartitionBatcher]
"""(origin, partition) -> the buffers of one source partition."""


class CutWriter(Protocol):
    """Writes a cut to every sink of its batches (`Flusher`); returns the rows retried."""

    def write(self, cut: Cut) -> int: ...


class Engine:
    def __init__(
        self,
        source: Source,
        pipeline: Pipeline,
        flusher: CutWriter,
        new_batcher: BatcherFactory,
        *,
        hooks: Hooks | None = None,
        stats: Stats | None = None,
        stop: threading.Event | None = None,
        cut_attempts: int = 1,
        retry: RetryConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cut_attempts < 1:
            raise ValueError("cut_attempts must be at least 1")
        self.source = source
        self.pipeline = pipeline
        self.flusher = flusher
        self.new_batcher = new_batcher
        self.hooks = hooks or Hooks()
        self.stats = stats or Stats()
        self.stop = stop or threading.Event()
        self.cut_attempts = cut_attempts
        self.retry = retry or RetryConfig()
        self.sleep = sleep
        self.clock = clock
        self.batchers: dict[str, PartitionBatcher] = {}

    # -- the pull loop ----------------------------------------------------------------------
    def run(self, until_idle: bool = False, max_runtime_s: float | None = None) -> None:
        """Read, process and deliver until stopped, `max_runtime_s` passed, or (with
        `until_idle`) the source is drained. A clean stop flushes what is buffered; an
        exception skips that on purpose: nothing may be acked after a failed write."""
        source, hooks, name = self.source, self.hooks, self.source.name
        deadline = None if max_runtime_s is None else self.clock() + max_runtime_s
        source.open()
        try:
            while not self.stop.is_set():
                hooks.on_turn(name)
                if deadline is not None and self.clock() >= deadline:
                    log.info("max runtime reached", extra={"max_runtime_s": max_runtime_s})
                    break
                hooks.on_poll(name)
                for unit in source.read():
                    self.take(unit)
                    if self.stop.is_set():
                        break
                caught_up = until_idle and source.caught_up()
                self.flush_due(force=caught_up)
                if caught_up and not self.pending() and source.drained():
                    log.info("drained", extra=self.stats.snapshot())
                    break
            self.flush_due(force=True)
        finally:
            source.close()

    # -- units in -----------------------------------------------------------------------------
    def take(self, unit: Unit) -> bool:
        """Process and buffer one unit, flushing its partition whenever it is due; False
        when the source took it back for a retry, or a fence dropped its partition."""
        outcomes = unit.outcomes if unit.outcomes is not None else self._process(unit)
        if self.source.retry_stages and self._retried(unit, outcomes):
            return False
        batcher = self.batchers.get(unit.partition)
        if batcher is None:
            batcher = self.batchers[unit.partition] = self.new_batcher(
                self.source.origin, unit.partition
            )
        if not self._buffer(batcher, unit, outcomes):
            return False
        if unit.atomic and not unit.joined and batcher.due() and not self.flush(unit.partition):
            return False
        return self._end(unit.partition) if unit.last else True

    def _buffer(self, batcher: PartitionBatcher, unit: Unit, outcomes: Sequence[Processed]) -> bool:
        """The unit's items into the partition's buffers; a due cut is flushed at once
        unless the unit is atomic. False when a fence dropped the partition."""
        hooks, name = self.hooks, self.source.name
        add, check = batcher.add, not unit.atomic
        announce = not batcher.pending  # the first record buffered since the last ack
        if not unit.records and unit.position is not None:
            # nothing to process (an SQS message without payloads): its ack still rides
            # the next cut
            if announce and not self.pending():
                hooks.on_buffering(name)
            add(unit.position, (), False, unit.arrival_time)
        for record, (items, quarantined) in zip(unit.records, outcomes, strict=True):
            if announce:
                announce = False
                if not self.pending():
                    hooks.on_buffering(name)
            add(record.position, items, quarantined, record.arrival_time)
            if check and batcher.full:  # a buffer's record or byte limit: cut right here
                if not self.flush(unit.partition):
                    return False
                announce = True
        # the age limit, once a unit: a unit takes milliseconds, the limit is seconds
        return not (check and batcher.due()) or self.flush(unit.partition)

    def _end(self, partition: str) -> bool:
        """The partition's last unit: flush it, then tell the source it ended."""
        if not self.flush(partition):
            return False
        self.batchers.pop(partition, None)
        self.source.ended(partition)
        return True

    def _process(self, unit: Unit) -> list[Processed]:
        records, errors = unit.records, unit.errors
        if not errors:
            return self.pipeline.process_many(records)
        # Records the source could not read are quarantined; the rest go through together
        # (an external transform gets them as one batch).
        processed = iter(
            self.pipeline.process_many([r for i, r in enumerate(records) if i not in errors])
        )
        quarantine = self.pipeline.quarantine_item
        return [
            ([quarantine(record, errors[index], None)], True)
            if index in errors
            else next(processed)
            for index, record in enumerate(records)
        ]

    def _retried(self, unit: Unit, outcomes: Sequence[Processed]) -> bool:
        stages = self.source.retry_stages
        for items, quarantined in outcomes:
            if quarantined and items[0].row["stage"] in stages:
                if self.source.retry(unit, items[0].row):
                    self.hooks.on_retried(self.source.name, 1)
                return True
        return False

    # -- cuts out -----------------------------------------------------------------------------
    def pending(self, partition: str | None = None) -> bool:
        if partition is not None:
            batcher = self.batchers.get(partition)
            return batcher is not None and batcher.pending
        return any(batcher.pending for batcher in self.batchers.values())

    def flush_due(self, force: bool = False) -> None:
        """Flush partitions whose limits are reached; with `force`, every one with data."""
        for partition, batcher in list(self.batchers.items()):
            if batcher.due() or (force and batcher.pending):
                self.flush(partition)

    def flush(self, partition: str) -> bool:
        """Write the partition's buffered cut to every sink, then ack it. True when it was
        acked (or there was nothing to write); False when the source's fence dropped it."""
        batcher = self.batchers.get(partition)
        if batcher is None or not batcher.pending:
            return True
        cut = batcher.cut()
        if not self._deliver(cut):
            self.discard(partition)
            return False
        return True

    def discard(self, partition: str) -> int:
        """Forget what the partition has buffered (its lease is gone): nothing of it is
        written or acked. Returns the number of records dropped."""
        batcher = self.batchers.pop(partition, None)
        return 0 if batcher is None else batcher.records

    def _deliver(self, cut: Cut) -> bool:
        source, hooks, name = self.source, self.hooks, self.source.name
        hooks.on_flush_started(name)
        for attempt in range(self.cut_attempts):
            started = time.perf_counter()
            hold_point()
            if not source.fence(cut):
                log.warning(
                    "fence refused the cut; dropped, nothing written",
                    extra={"partition": cut.partition, "dropped_records": cut.records},
                )
                return False
            if not source.stable_positions:
                for batch in cut.batches:
                    batch.stable_positions = False
            try:
                retried = self.flusher.write(cut)
            except Exception as exc:
                hooks.on_flush_failed(name, exc)
                permanent = not isinstance(exc, SinkError) or isinstance(exc, ConfigError)
                if permanent or attempt + 1 == self.cut_attempts:
                    raise
                self._before_next_attempt(cut, attempt, exc)
                continue
            # every sink confirmed, nothing acked yet: the window the reliability suite
            # kills a process in (consumer/testing/faults.py)
            crash_point("after_write_before_ack")
            if not source.ack(cut):
                log.warning(
                    "source refused the cut at its commit; dropped",
                    extra={"partition": cut.partition, "dropped_records": cut.records},
                )
                return False
            self.stats.add_cut(cut)
            hooks.on_flushed(
                FlushInfo(
                    source.kind,
                    name,
                    cut,
                    time.perf_counter() - started,
                    time.time(),
                    retried,
                    source.lag_ms(),
                )
            )
            if not self.pending():
                hooks.on_idle(name)
            log.debug("flushed", extra=_cut_fields(cut))
            return True
        raise AssertionError("unreachable")  # pragma: no cover

    def _before_next_attempt(self, cut: Cut, attempt: int, exc: Exception) -> None:
        delay = backoff_delay(self.retry, attempt)
        log.warning(
            "flush failed; retrying the cut",
            extra={
                **_cut_fields(cut),
                "attempt": attempt + 1,
                "delay_s": round(delay, 3),
                "error": str(exc),
            },
        )
        self.sleep(delay)


def _cut_fields(cut: Cut) -> Mapping[str, Any]:
    return {
        "partition": cut.partition,
        "up_to": str(cut.last),
        "records": cut.records,
        "batches": len(cut.batches),
    }
