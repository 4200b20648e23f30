"""The built-in Kinesis polling reader: every shard of a stream, one process, as a source
of the delivery engine (consumer/delivery/engine.py); with worker processes
(consumer/runtime/workers.py), the shards one worker owns.

Delivery: at-least-once in, and with idempotent sinks, no duplicate effect out. A shard's
checkpoint only moves when the engine acks the cut that ends there, after every sink
confirmed it; a crash replays from the checkpoint and the replayed batches overwrite what
the lost flush wrote. Parents are read to their end before their children start, so
per-key order survives a reshard (a parent another worker reads counts as read once its
checkpoint says it ended). Throttling backs off per shard; an expired iterator is
renewed right after the last record read, so nothing is skipped or read twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from consumer.errors import RecordError, SourceError
from consumer.flow import Cut, Position, Record
from consumer.sources.base import NO_ERRORS, SourceBase, Unit
from consumer.sources.kinesis.behind import ShardBehind
from consumer.sources.kinesis.checkpoints import CheckpointStore
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.records import to_records
from consumer.sources.kinesis.shards import ShardInfo, list_shards, ready

log = logging.getLogger(__name__)

_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "KMSThrottlingException",
        "ThrottlingException",
    }
)
_FOREIGN_PARENT_CHECK_S = 2.0
"""With worker processes: how often a child waiting for a parent another worker reads looks
at the parent's checkpoint again."""


@dataclass
class ShardState:
    info: ShardInfo
    iterator: str | None = None
    skip_through: Position | None = None
    last_read: Position | None = None
    next_poll_at: float = 0.0
    throttled: int = 0
    caught_up: bool = False
    millis_behind: int = 0
    behind: ShardBehind = field(default_factory=ShardBehind)


class KinesisSource(SourceBase):
    kind = "kinesis"

    def __init__(
        self,
        config: KinesisSourceConfig,
        client: Any,
        checkpoints: CheckpointStore,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.name = self.origin = config.stream
        self.owns = owns
        """With worker processes: whether this worker reads the shard (the others skip it)."""
        self.config = config
        self.client = client
        self.checkpoints = checkpoints
        self.stop = stop or threading.Event()
        self.clock = clock
        self.active: dict[str, ShardState] = {}
        self.finished: set[str] = set()
        self.waiting: set[str] = set()
        self._next_sync = 0.0

    # -- what the engine asks -------------------------------------------------------------
    def read(self) -> Iterator[Unit]:
        """One GetRecords per shard that is due, each response a unit; a short wait when
        no shard was due."""
        if self.clock() >= self._next_sync:
            self.sync_shards()
        polled = False
        for state in list(self.active.values()):
            if self.stop.is_set():
                return
            if self.clock() >= state.next_poll_at:
                polled = True
                unit = self._poll(state)
                if unit is not None:
                    yield unit
        if not polled:
            self._sleep_until_next_poll()

    def ack(self, cut: Cut) -> bool:
        self.checkpoints.commit(cut.partition, cut.last)
        return True

    def ended(self, partition: str) -> None:
        self.checkpoints.end_shard(partition)
        del self.active[partition]
        self.finished.add(partition)
        self._next_sync = 0.0
        log.info("shard ended", extra={"shard": partition})

    def lag_ms(self) -> int:
        return max((s.millis_behind for s in self.active.values()), default=0)

    def records_behind(self) -> float:
        """Summed over the shards read now (called from the metrics emitter's thread)."""
        return sum(state.behind.records() for state in list(self.active.values()))

    def caught_up(self) -> bool:
        return all(state.caught_up for state in self.active.values())

    def drained(self) -> bool:
        return self.caught_up() and not self.waiting

    def _sleep_until_next_poll(self) -> None:
        now = self.clock()
        wake = min((s.next_poll_at for s in self.active.values()), default=now + 0.2)
        self.stop.wait(max(0.0, min(wake - now, 0.5)))

    # -- shards -----------------------------------------------------------------------
    def sync_shards(self) -> None:
        shards = list_shards(self.client, self.config.stream)
        listed = [s.shard_id for s in shards]
        self.waiting = set()
        for info in shards:
            if info.shard_id in self.finished:
                continue
            if self.owns is not None and not self.owns(info.shard_id):
                continue
            if info.shard_id in self.active:
                self.active[info.shard_id].info = info
                continue
            if not ready(info, listed, self.finished) and not self._parents_ended(info, listed):
                self.waiting.add(info.shard_id)
                continue
            self._start(info)
        interval = self.config.shard_sync_interval_s
        if self.waiting and self.owns is not None:
            interval = min(interval, _FOREIGN_PARENT_CHECK_S)  # no ended() call will tell us
        self._next_sync = self.clock() + interval

    def _parents_ended(self, info: ShardInfo, listed: list[str]) -> bool:
        """With worker processes: the parents this worker does not read have ended by
        their checkpoints (another worker read them to their end), and its own have too."""
        if self.owns is None:
            return False
        for parent in info.parents:
            if parent in self.finished or parent not in listed:
                continue
            if self.owns(parent) or not self.checkpoints.load(parent).ended:
                return False
            self.finished.add(parent)
        return True

    def _start(self, info: ShardInfo) -> None:
        checkpoint = self.checkpoints.load(info.shard_id)
        if checkpoint.ended:
            self.finished.add(info.shard_id)
            return
        state = ShardState(info)
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
    def _poll(self, state: ShardState) -> Unit | None:
        """The shard's next records as a unit (the last one at the shard's end); None when
        nothing came or the read failed (throttled, iterator renewed)."""
        try:
            response = self.client.get_records(
                ShardIterator=state.iterator, Limit=self.config.max_records_per_call
            )
        except ClientError as exc:
            self._on_read_error(state, exc)
            return None
        state.throttled = 0
        entries = response.get("Records", [])
        records: list[Record] = []
        errors: dict[int, RecordError] | None = None
        wanted = self._wanted
        for record, error in to_records(self.config.stream, state.info.shard_id, entries):
            if wanted(state, record.position):
                if error is not None:
                    errors = errors or {}
                    errors[len(records)] = error
                records.append(record)
        state.iterator = response.get("NextShardIterator")
        state.millis_behind = int(response.get("MillisBehindLatest", 0))
        state.behind.observe((record.arrival_time for record in records), state.millis_behind)
        state.caught_up = not entries and state.millis_behind == 0
        state.next_poll_at = self.clock() + (self.config.idle_poll_interval_s if not entries else 0)
        last = self._at_shard_end(state, bool(entries))
        if not records and not last:
            return None
        return Unit(state.info.shard_id, records, errors or NO_ERRORS, last=last)

    def _wanted(self, state: ShardState, position: Position) -> bool:
        """False for records already buffered before an expired iterator was renewed."""
        state.last_read = position
        if state.skip_through is not None:
            if position <= state.skip_through:
                return False
            state.skip_through = None
        return True

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

    # -- shard end -----------------------------------------------------------------------
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
