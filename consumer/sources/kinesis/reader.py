"""The built-in Kinesis polling reader: every shard of a stream, one process.

Delivery: at-least-once in, and with idempotent sinks, no duplicate effect out. A shard's
checkpoint only moves after every sink confirmed the cut that ends there; a crash replays
from the checkpoint and the replayed batches overwrite what the lost flush wrote.
Parents are read to their end before their children start, so per-key order survives a
reshard. Throttling backs off per shard; an expired iterator is renewed right after the
last record read, so nothing is skipped or read twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from consumer.batcher import PartitionBatcher
from consumer.errors import SourceError
from consumer.faults import crash_point
from consumer.flush import Flusher
from consumer.hooks import FlushInfo, Hooks
from consumer.pipeline import Item, Pipeline
from consumer.record import Position, Record
from consumer.sources.kinesis.checkpoints import CheckpointStore
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.records import to_records
from consumer.sources.kinesis.shards import ShardInfo, list_shards, ready
from consumer.stats import Stats

log = logging.getLogger(__name__)

_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "KMSThrottlingException",
        "ThrottlingException",
    }
)


@dataclass
class ShardState:
    info: ShardInfo
    batcher: PartitionBatcher
    iterator: str | None = None
    skip_through: Position | None = None
    last_read: Position | None = None
    next_poll_at: float = 0.0
    throttled: int = 0
    caught_up: bool = False
    millis_behind: int = 0


BatcherFactory = Callable[[str], PartitionBatcher]


class KinesisReader:
    def __init__(
        self,
        config: KinesisSourceConfig,
        client: Any,
        checkpoints: CheckpointStore,
        pipeline: Pipeline,
        flusher: Flusher,
        new_batcher: BatcherFactory,
        stats: Stats,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        hooks: Hooks | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.checkpoints = checkpoints
        self.pipeline = pipeline
        self.flusher = flusher
        self.new_batcher = new_batcher
        self.stats = stats
        self.stop = stop or threading.Event()
        self.hooks = hooks or Hooks()
        self.clock = clock
        self.active: dict[str, ShardState] = {}
        self.finished: set[str] = set()
        self.waiting: set[str] = set()
        self._next_sync = 0.0

    # -- the loop ---------------------------------------------------------------------
    def run(self, until_idle: bool = False, max_runtime_s: float | None = None) -> None:
        """Consume until stopped, `max_runtime_s` passed, or (with `until_idle`) drained."""
        deadline = None if max_runtime_s is None else self.clock() + max_runtime_s
        while not self.stop.is_set():
            self.hooks.on_turn(self.config.stream)
            if deadline is not None and self.clock() >= deadline:
                log.info("max runtime reached", extra={"max_runtime_s": max_runtime_s})
                break
            if self.clock() >= self._next_sync:
                self.sync_shards()
            polled = self._poll_due_shards()
            self._flush_due(force=until_idle and self._caught_up())
            if until_idle and self._drained():
                log.info("drained", extra=self.stats.snapshot())
                break
            if not polled:
                self._sleep_until_next_poll()
        # A clean stop flushes what is buffered; an exception above skips this on purpose:
        # nothing may be acked after a failed write.
        self._flush_due(force=True)

    def _poll_due_shards(self) -> bool:
        polled = False
        for state in list(self.active.values()):
            if self.stop.is_set():
                break
            if self.clock() >= state.next_poll_at:
                self._poll(state)
                polled = True
        return polled

    def _sleep_until_next_poll(self) -> None:
        now = self.clock()
        wake = min((s.next_poll_at for s in self.active.values()), default=now + 0.2)
        self.stop.wait(max(0.0, min(wake - now, 0.5)))

    def _caught_up(self) -> bool:
        return all(state.caught_up for state in self.active.values())

    def _drained(self) -> bool:
        if not self._caught_up() or self.waiting:
            return False
        return not any(state.batcher.pending for state in self.active.values())

    # -- shards -----------------------------------------------------------------------
    def sync_shards(self) -> None:
        shards = list_shards(self.client, self.config.stream)
        listed = [s.shard_id for s in shards]
        self.waiting = set()
        for info in shards:
            if info.shard_id in self.finished:
                continue
            if info.shard_id in self.active:
                self.active[info.shard_id].info = info
                continue
            if not ready(info, listed, self.finished):
                self.waiting.add(info.shard_id)
                continue
            self._start(info)
        self._next_sync = self.clock() + self.config.shard_sync_interval_s

    def _start(self, info: ShardInfo) -> None:
        checkpoint = self.checkpoints.load(info.shard_id)
        if checkpoint.ended:
            self.finished.add(info.shard_id)
            return
        state = ShardState(info, self.new_batcher(info.shard_id))
        state.skip_through = checkpoint.position
        state.iterator = self._iterator(info.shard_id, checkpoint.position)
        self.active[info.shard_id] = state
        log.info(
            "shard started",
            extra={"shard": info.shard_id, "checkpoint": str(checkpoint.position)},
        )

    def _iterator(self, shard: str, after: Position | None) -> str:
        kwargs: dict[str, Any] = {"StreamName": self.config.stream, "ShardId": shard}
        if after is not None:
            # AT, not AFTER: a KPL aggregate may be only partly processed; the user
            # records up to `after` are skipped as they are read again.
            kwargs.update(
                ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=str(after.sequence)
            )
        else:
            kwargs["ShardIteratorType"] = self.config.initial_position
            if self.config.initial_timestamp is not None:
                kwargs["Timestamp"] = self.config.initial_timestamp
        iterator: str = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        return iterator

    # -- reading ----------------------------------------------------------------------
    def _poll(self, state: ShardState) -> None:
        self.hooks.on_poll(self.config.stream)
        try:
            response = self.client.get_records(
                ShardIterator=state.iterator, Limit=self.config.max_records_per_call
            )
        except ClientError as exc:
            self._on_read_error(state, exc)
            return
        state.throttled = 0
        records = response.get("Records", [])
        wanted = [
            (record, error)
            for record, error in to_records(self.config.stream, state.info.shard_id, records)
            if self._wanted(state, record.position)
        ]
        # Records of a route with an external transform go to its command as one batch.
        outcomes = iter(self.pipeline.process_many([r for r, e in wanted if e is None]))
        for record, error in wanted:
            if error is None:
                self._accept(state, record, next(outcomes))
            else:
                self._accept(
                    state, record, ([self.pipeline.quarantine_item(record, error, None)], True)
                )
        state.iterator = response.get("NextShardIterator")
        state.millis_behind = int(response.get("MillisBehindLatest", 0))
        state.caught_up = not records and state.millis_behind == 0
        state.next_poll_at = self.clock() + (self.config.idle_poll_interval_s if not records else 0)
        if self._at_shard_end(state, bool(records)):
            self._end_shard(state)

    def _wanted(self, state: ShardState, position: Position) -> bool:
        """False for records already buffered before an expired iterator was renewed."""
        state.last_read = position
        if state.skip_through is not None:
            if position <= state.skip_through:
                return False
            state.skip_through = None
        return True

    def _accept(self, state: ShardState, record: Record, outcome: tuple[list[Item], bool]) -> None:
        batcher = state.batcher
        items, quarantined = outcome
        if not batcher.pending and not self._any_pending():
            self.hooks.on_buffering(self.config.stream)
        batcher.add(record.position, items, quarantined, record.arrival_time)
        if batcher.due():
            self._flush(state)

    def _on_read_error(self, state: ShardState, exc: ClientError) -> None:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _THROTTLED:
            state.throttled += 1
            delay = min(self.config.throttle_backoff_max_s, 0.2 * 2 ** min(state.throttled, 10))
            state.next_poll_at = self.clock() + delay
            log.warning("throttled", extra={"shard": state.info.shard_id, "delay_s": delay})
        elif code == "ExpiredIteratorException":
            resume = state.last_read or state.skip_through
            if state.last_read is not None:
                state.skip_through = state.last_read
            state.iterator = self._iterator(state.info.shard_id, resume)
            log.info("iterator renewed", extra={"shard": state.info.shard_id, "after": str(resume)})
        else:
            raise SourceError(f"GetRecords on {state.info.shard_id} failed: {exc}") from exc

    # -- shard end and flushing ---------------------------------------------------------
    def _at_shard_end(self, state: ShardState, got_records: bool) -> bool:
        if state.iterator is None:
            return True
        end = state.info.ending_sequence
        if end is None:
            return False
        if state.last_read is not None and state.last_read.sequence >= end:
            return True
        # Emulators keep handing out iterators on closed shards: caught up is the end.
        return not got_records and state.millis_behind == 0

    def _end_shard(self, state: ShardState) -> None:
        shard = state.info.shard_id
        if state.batcher.pending:
            self._flush(state)
        self.checkpoints.end_shard(shard)
        del self.active[shard]
        self.finished.add(shard)
        self._next_sync = 0.0
        log.info("shard ended", extra={"shard": shard})

    def _any_pending(self) -> bool:
        return any(state.batcher.pending for state in self.active.values())

    def _flush_due(self, force: bool) -> None:
        """Flush shards whose limits are reached; with `force`, every shard with data."""
        for state in list(self.active.values()):
            if state.batcher.due() or (force and state.batcher.pending):
                self._flush(state)

    def _flush(self, state: ShardState) -> None:
        shard = state.info.shard_id
        cut = state.batcher.cut()
        started = time.perf_counter()
        self.hooks.on_flush_started(self.config.stream)
        try:
            retried = self.flusher.write(cut)
        except BaseException as exc:
            self.hooks.on_flush_failed(self.config.stream, exc)
            raise
        crash_point("after_write_before_ack")
        self.checkpoints.commit(shard, cut.last)
        self.stats.add_cut(cut)
        behind = max((s.millis_behind for s in self.active.values()), default=0)
        self.hooks.on_flushed(
            FlushInfo(
                "kinesis",
                self.config.stream,
                cut,
                time.perf_counter() - started,
                time.time(),
                retried,
                behind,
            )
        )
        if not self._any_pending():
            self.hooks.on_idle(self.config.stream)
        log.debug(
            "flushed",
            extra={
                "shard": shard,
                "up_to": str(cut.last),
                "records": cut.records,
                "batches": len(cut.batches),
            },
        )
