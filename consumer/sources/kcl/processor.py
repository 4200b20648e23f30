"""The shard processor the KCL MultiLangDaemon drives through the child's protocol loop
(consumer/sources/kcl/protocol.py, `process_messages`) or amazon-kclpy's `KCLProcess`
(v3 API, `process_records`): a push adapter onto the delivery engine
(consumer/delivery/engine.py).

One child process per shard; the daemon owns the lease and the reading. Each
processRecords call becomes one unit the engine takes, exactly as a GetRecords response
of the polling reader does: through the pipeline into the shard's buffers, a due cut
written to every sink, and only then acked. The ack records where the checkpoint may go
(`KclShard`); the processor checkpoints there, with the KPL sub-sequence number, through
the daemon's checkpointer before the call returns.

The protocol loop, like kclpy, catches any exception a processor raises and reports the
action done; the KCL then
hands over the next batch, so a batch whose flush failed would be skipped. Nothing may
escape this processor therefore: the engine retries a failed cut `flush_attempts` times,
and when the budget is spent (or anything unexpected happens) the process exits
non-zero. The daemon then stops, its leases expire and whoever takes them reads again
from the last checkpoint: nothing unflushed was ever acked.

The processor is duck-typed against `amazon_kclpy.v3.processor.RecordProcessorBase`
(`KCLProcess` dispatches on `version == 3`), so this module imports without kclpy.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, Protocol

from consumer.aws.blobs import b64decode
from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.delivery.assembly import Assembly, assemble
from consumer.delivery.buffer import PartitionBatcher
from consumer.delivery.engine import BatcherFactory, Engine
from consumer.delivery.flush import Flusher
from consumer.delivery.hooks import Hook, Hooks
from consumer.delivery.retry import RetryConfig
from consumer.delivery.stats import Stats
from consumer.errors import ConfigError, RecordError, SinkError
from consumer.flow import Cut, Position, Record
from consumer.pipeline.process import Pipeline
from consumer.runtime.metrics import EmfMetrics, MetricsConfig, emf_hook
from consumer.sinks.base import Sink
from consumer.sources.base import NO_ERRORS, SourceBase, Unit
from consumer.sources.kcl.channel import ChannelClient
from consumer.sources.kcl.fence import LeaseFence
from consumer.sources.kcl.outputs import ChannelEmfWriter
from consumer.sources.kinesis import kpl
from consumer.sources.kinesis.behind import ShardBehind
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.records import to_records

log = logging.getLogger(__name__)

# Checkpoint errors the daemon reports by exception class name (kclpy CheckpointError.value).
_RETRY_CHECKPOINT = frozenset({"ThrottlingException", "KinesisClientLibDependencyException"})
_GIVE_UP_CHECKPOINT = frozenset({"ShutdownException", "InvalidStateException"})


# -- what kclpy hands the processor (amazon_kclpy.messages), as far as it is used ------------
class KclRecord(Protocol):
    @property
    def sequence_number(self) -> str: ...
    @property
    def sub_sequence_number(self) -> int | None: ...
    @property
    def timestamp_millis(self) -> int: ...
    @property
    def partition_key(self) -> str: ...
    @property
    def binary_data(self) -> bytes: ...


class Checkpointer(Protocol):
    def checkpoint(
        self, sequence_number: str | None = None, sub_sequence_number: int | None = None
    ) -> None: ...


class InitializeInput(Protocol):
    @property
    def shard_id(self) -> str: ...
    @property
    def sequence_number(self) -> str | None: ...
    @property
    def sub_sequence_number(self) -> int | None: ...


class ProcessRecordsInput(Protocol):
    @property
    def records(self) -> Sequence[KclRecord]: ...
    @property
    def millis_behind_latest(self) -> int | None: ...
    @property
    def checkpointer(self) -> Checkpointer: ...


class ShardLifecycle(Protocol):
    """Told when the daemon starts the shard here and when it calls this child no more
    (`sluice kcl run`'s health endpoint forgets a child that stopped)."""

    def started(self, shard: str) -> None: ...

    def stopped(self, why: str) -> None: ...


class CheckpointingInput(Protocol):
    """shardEnded and shutdownRequested: a checkpointer, nothing else."""

    @property
    def checkpointer(self) -> Checkpointer: ...


# -- the pipeline pieces, built as consumer.runtime.service.build_service builds them -------------
@dataclass
class ShardParts:
    stream: str
    assembly: Assembly
    new_batcher: BatcherFactory
    hooks: Hooks
    stats: Stats
    retry: RetryConfig

    @property
    def pipeline(self) -> Pipeline:
        return self.assembly.pipeline

    @property
    def flusher(self) -> Flusher:
        return self.assembly.flusher

    @property
    def sinks(self) -> dict[str, Sink]:
        return self.assembly.sinks

    def close(self) -> None:
        self.assembly.close()


def child_metrics(config: MetricsConfig) -> MetricsConfig:
    """A KCL child's stdout is the protocol: EMF bound for stdout goes to stderr instead."""
    if config.sink == "stdout":
        return config.model_copy(update={"sink": "stderr"})
    return config


def child_emf(config: PipelineConfig, channel: ChannelClient | None) -> EmfMetrics | None:
    """The child's metrics hook: EMF for stdout or stderr goes through the channel to
    `sluice kcl run`'s stdout or stderr when there is one, else to the child's stderr."""
    if channel is not None and config.metrics.sink in ("stdout", "stderr"):
        writer = ChannelEmfWriter(channel, config.metrics.sink)
        return emf_hook(config.metrics, config.name, writer)
    return emf_hook(child_metrics(config.metrics), config.name)


def build_parts(
    config: PipelineConfig,
    base_dir: Path,
    aws: AwsClients,
    extra_hooks: Sequence[Hook] = (),
    batcher_clock: Callable[[], float] = time.monotonic,
    channel: ChannelClient | None = None,
) -> ShardParts:
    """Sinks, pipeline, flusher, batcher factory and hooks for one shard's child.

    Health endpoint and scale-in protection are task-wide and stay with the task, not
    with the per-shard children (several children would fight over one port and one
    protection state); metrics never go to stdout (`child_emf`).
    """
    source = config.source
    if not isinstance(source, KinesisSourceConfig):
        raise ConfigError(f"source.type: the KCL path reads Kinesis, not {source.type!r}")
    parts = assemble(config, aws, base_dir)
    new_batcher: BatcherFactory = partial(
        PartitionBatcher, **parts.batcher_options, clock=batcher_clock
    )
    hook_list: list[Hook] = list(extra_hooks)
    metrics = child_emf(config, channel)
    if metrics is not None:
        hook_list.append(metrics)
    return ShardParts(
        stream=source.stream,
        assembly=parts,
        new_batcher=new_batcher,
        hooks=Hooks(hook_list),
        stats=Stats(),
        retry=config.retry,
    )


def hard_exit(code: int) -> NoReturn:
    """Leave now, whatever the caller catches: logs and metrics flushed, no cleanup run."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def initial_position(sequence: str | None, sub: int | None) -> Position | None:
    """The checkpoint the daemon starts a shard at, when it is a record (not a sentinel
    such as TRIM_HORIZON, LATEST or AT_TIMESTAMP)."""
    if sequence is None or not sequence.isdigit():
        return None
    return Position(int(sequence), int(sub or 0))


# -- the shard as the engine's source ---------------------------------------------------------
class KclShard(SourceBase):
    """The shard a KCL child serves, as the engine sees it. Nothing is read here: the
    daemon hands records to `ShardProcessor`, which gives them to the engine.

    Delivery: the engine acks a cut only after every sink confirmed it, and the ack only
    records where the checkpoint may move; the processor checkpoints there before the
    daemon's call returns. Before each write the lease fence (when configured) must still
    name this worker: a zombie whose lease was taken writes nothing and checkpoints
    nothing, and the new owner reads again from the last checkpoint.
    """

    kind = "kinesis"

    def __init__(self, stream: str, lease: LeaseFence | None = None) -> None:
        self.name = self.origin = stream
        self.lease = lease
        self.shard = ""
        self.flushed: Position | None = None
        """The end of the last cut every sink confirmed: where the checkpoint may go."""
        self.lease_gone = False
        """The fence found another owner: nothing more is written or checkpointed here."""
        self.millis_behind = 0
        self.behind = ShardBehind()

    def read(self) -> Iterator[Unit]:
        return iter(())

    def ack(self, cut: Cut) -> bool:
        self.flushed = cut.last
        return True

    def fence(self, cut: Cut) -> bool:
        if self.lease is None or self.lease.holds(self.shard):
            return True
        self.lease_gone = True
        self.flushed = None
        log.warning(
            "lease taken by another worker; cut dropped, nothing written",
            extra={"shard": self.shard, "dropped_records": cut.records},
        )
        return False

    def lag_ms(self) -> int:
        return self.millis_behind

    def records_behind(self) -> float:
        return self.behind.records()


# -- the processor --------------------------------------------------------------------------
class ShardProcessor:
    """A kclpy v3 record processor feeding sluice's delivery engine for one shard."""

    version = 3

    def __init__(
        self,
        parts: ShardParts,
        *,
        flush_attempts: int = 3,
        checkpoint_attempts: int = 5,
        checkpoint_backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        exit_process: Callable[[int], NoReturn] = hard_exit,
        fence: LeaseFence | None = None,
        lifecycle: ShardLifecycle | None = None,
    ) -> None:
        if flush_attempts < 1 or checkpoint_attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.parts = parts
        self.checkpoint_attempts = checkpoint_attempts
        self.checkpoint_backoff_s = checkpoint_backoff_s
        self.sleep = sleep
        self.exit_process = exit_process
        self.source = KclShard(parts.stream, fence)
        self.engine = Engine(
            self.source,
            parts.pipeline,
            parts.flusher,
            parts.new_batcher,
            hooks=parts.hooks,
            stats=parts.stats,
            cut_attempts=flush_attempts,
            retry=parts.retry,
            sleep=sleep,
        )
        self.lifecycle = lifecycle
        self.resume_after: Position | None = None
        """The checkpoint the shard started at: records up to it are already done."""
        self.checkpointed: Position | None = None

    @property
    def shard(self) -> str:
        return self.source.shard

    # -- the v3 API -------------------------------------------------------------------------
    def initialize(self, initialize_input: InitializeInput) -> None:
        with self._or_exit("initialize"):
            self.source.shard = initialize_input.shard_id
            self.resume_after = initial_position(
                initialize_input.sequence_number, initialize_input.sub_sequence_number
            )
            self.checkpointed = self.resume_after
            self._tell("started", self.shard)
            log.info(
                "shard started",
                extra={
                    "shard": self.shard,
                    "stream": self.parts.stream,
                    "checkpoint": initialize_input.sequence_number,
                    "sub": initialize_input.sub_sequence_number,
                },
            )

    def process_records(self, process_records_input: ProcessRecordsInput) -> None:
        """Give the records to the engine, flush when due (also on the daemon's empty-list
        calls, which is what makes `max_age_s` work on a quiet shard), checkpoint what was
        acked. (kclpy's entry; sluice's own protocol reader calls `process_messages`.)"""
        with self._or_exit("processRecords"):
            self._process(
                self._unit(process_records_input.records),
                process_records_input.millis_behind_latest,
                process_records_input.checkpointer,
            )

    def process_messages(
        self,
        messages: Sequence[Mapping[str, Any]],
        millis_behind: int | None,
        checkpointer: Checkpointer,
    ) -> None:
        """`process_records` for the daemon's record messages as they were parsed from its
        processRecords line (consumer/sources/kcl/protocol.py): no per-record objects but
        sluice's own `Record`s."""
        with self._or_exit("processRecords"):
            self._process(self._unit_of_messages(messages), millis_behind, checkpointer)

    def _process(self, unit: Unit, behind: int | None, checkpointer: Checkpointer) -> None:
        if behind is not None:
            self.source.millis_behind = int(behind)
        self.source.behind.observe((r.arrival_time for r in unit.records), behind)
        self.parts.hooks.on_poll(self.parts.stream)  # its report carries the estimate
        if not self.source.lease_gone:
            self.engine.take(unit)
            self.engine.flush_due()
        self._checkpoint_flushed(checkpointer)

    def lease_lost(self, lease_lost_input: object) -> None:
        """Another worker owns the shard now: drop what is buffered, never checkpoint."""
        with self._or_exit("leaseLost"):
            dropped = self.engine.discard(self.shard)
            self.source.flushed = None
            self._stopped("lease lost")
            log.info(
                "lease lost",
                extra={
                    "shard": self.shard,
                    "dropped_records": dropped,
                    **self.parts.stats.snapshot(),
                },
            )

    def shard_ended(self, shard_ended_input: CheckpointingInput) -> None:
        """Flush the rest, then checkpoint at SHARD_END so the children can start."""
        with self._or_exit("shardEnded"):
            self.engine.flush(self.shard)
            ended = not self.source.lease_gone and self._checkpoint(
                shard_ended_input.checkpointer, None
            )
            self._stopped("shard ended")
            log.info(
                "shard ended",
                extra={"shard": self.shard, "checkpointed": ended, **self.parts.stats.snapshot()},
            )

    def shutdown_requested(self, shutdown_requested_input: CheckpointingInput) -> None:
        """The worker is stopping: flush what is buffered and checkpoint it."""
        with self._or_exit("shutdownRequested"):
            self.engine.flush(self.shard)
            self._checkpoint_flushed(shutdown_requested_input.checkpointer)
            self._stopped("shutdown requested")
            log.info(
                "shutdown requested", extra={"shard": self.shard, **self.parts.stats.snapshot()}
            )

    def _stopped(self, why: str) -> None:
        self._tell("stopped", why)

    def _tell(self, event: str, detail: str) -> None:
        """Report to the lifecycle listener; as with hooks, a failure is logged, not fatal."""
        if self.lifecycle is None:
            return
        try:
            getattr(self.lifecycle, event)(detail)
        except Exception:
            log.exception("lifecycle report failed", extra={"shard": self.shard, "event": event})

    # -- records ----------------------------------------------------------------------------
    def _unit(self, kcl_records: Sequence[KclRecord]) -> Unit:
        """The call's records from the starting checkpoint on, as one unit."""
        records: list[Record] = []
        errors: dict[int, RecordError] | None = None
        for kcl_record in kcl_records:
            converted = self._records(
                kcl_record.sequence_number,
                kcl_record.sub_sequence_number,
                kcl_record.timestamp_millis,
                kcl_record.partition_key,
                kcl_record.binary_data,
            )
            for record, error in converted:
                if self.resume_after is None or record.position > self.resume_after:
                    if error is not None:
                        errors = errors or {}
                        errors[len(records)] = error
                    records.append(record)
        return Unit(self.shard, records, errors or NO_ERRORS)

    def _unit_of_messages(self, messages: Sequence[Mapping[str, Any]]) -> Unit:
        """`_unit` for the daemon's record messages (``{"data": base64, "partitionKey",
        "sequenceNumber", "subSequenceNumber", "approximateArrivalTimestamp"}``), each
        decoded as kclpy's `Record` decodes it (`base64.b64decode`'s rules, by pybase64),
        with the common case (a plain record) inline."""
        stream, shard, after = self.parts.stream, self.shard, self.resume_after
        records: list[Record] = []
        errors: dict[int, RecordError] | None = None
        for message in messages:
            data = b64decode(message["data"])
            if data[:4] == kpl.MAGIC:  # maybe a KPL aggregate: the generic conversion
                converted = self._records(
                    message["sequenceNumber"],
                    message["subSequenceNumber"],
                    message["approximateArrivalTimestamp"],
                    message["partitionKey"],
                    data,
                )
                for record, error in converted:
                    if after is None or record.position > after:
                        if error is not None:
                            errors = errors or {}
                            errors[len(records)] = error
                        records.append(record)
                continue
            position = Position(
                int(message["sequenceNumber"]), int(message["subSequenceNumber"] or 0)
            )
            if after is None or position > after:
                arrival = int(message["approximateArrivalTimestamp"]) / 1000
                records.append(
                    Record(stream, shard, position, message["partitionKey"], arrival, data)
                )
        return Unit(shard, records, errors or NO_ERRORS)

    def _records(
        self, sequence: str, sub: int | None, arrival_ms: int, key: str, data: bytes
    ) -> list[tuple[Record, RecordError | None]]:
        """The daemon's record as sluice records, through the same KPL code as the reader.

        The KCL de-aggregates KPL records itself and sends each user record with its
        aggregate's sequence number and its sub-sequence number, which is kept. An
        aggregate the daemon passed on whole is split (or quarantined) by `to_records`,
        numbered as the KCL does.
        """
        arrival = int(arrival_ms) / 1000
        if not kpl.is_aggregated(data):  # the common case, without the generic conversion
            position = Position(int(sequence), int(sub or 0))
            return [(Record(self.parts.stream, self.shard, position, key, arrival, data), None)]
        entry: dict[str, Any] = {
            "SequenceNumber": sequence,
            "ApproximateArrivalTimestamp": datetime.fromtimestamp(arrival, tz=UTC),
            "Data": data,
            "PartitionKey": key,
        }
        converted = list(to_records(self.parts.stream, self.shard, [entry]))
        if len(converted) == 1 and sub:
            record = converted[0][0]
            record.position = Position(record.position.sequence, int(sub))
        return converted

    # -- checkpoints ------------------------------------------------------------------------
    def _checkpoint_flushed(self, checkpointer: Checkpointer) -> None:
        flushed = self.source.flushed
        if self.source.lease_gone or flushed is None:
            return
        if self.checkpointed is not None and flushed <= self.checkpointed:
            return
        if self._checkpoint(checkpointer, flushed):
            self.checkpointed = flushed

    def _checkpoint(self, checkpointer: Checkpointer, position: Position | None) -> bool:
        """Checkpoint at `position` (None: SHARD_END on shardEnded), as kclpy's sample does:
        retry throttling, give up on shutdown or invalid state. A checkpoint that did not
        happen loses nothing: the flushed records are written again, idempotently."""
        where = "SHARD_END" if position is None else str(position)
        for attempt in range(self.checkpoint_attempts):
            try:
                if position is None:
                    checkpointer.checkpoint()
                else:
                    checkpointer.checkpoint(str(position.sequence), position.sub)
            except Exception as exc:
                error = str(getattr(exc, "value", "") or type(exc).__name__)
                extra = {"shard": self.shard, "at": where, "error": error}
                if error in _GIVE_UP_CHECKPOINT:
                    log.warning("checkpoint refused; the lease is moving", extra=extra)
                    return False
                if error not in _RETRY_CHECKPOINT:
                    log.error("checkpoint failed; giving up", extra=extra)
                    return False
                if attempt + 1 == self.checkpoint_attempts:
                    log.error("checkpoint still throttled; giving up", extra=extra)
                    return False
                delay = self.checkpoint_backoff_s * 2**attempt
                log.warning("checkpoint throttled; retrying", extra={**extra, "delay_s": delay})
                self.sleep(delay)
                continue
            log.debug("checkpointed", extra={"shard": self.shard, "at": where})
            return True
        return False  # pragma: no cover

    # -- the guard ----------------------------------------------------------------------------
    @contextmanager
    def _or_exit(self, action: str) -> Iterator[None]:
        """kclpy would swallow an exception and the KCL would move on: exit instead."""
        try:
            yield
        except SinkError as exc:  # the engine spent its attempts on a cut
            log.critical(
                "flush failed; exiting so the batch is read again from the checkpoint",
                extra={"shard": self.shard, "action": action, "error": str(exc)},
            )
            self.exit_process(1)
        except Exception:
            log.critical(
                "unexpected error; exiting so the batch is read again from the checkpoint",
                extra={"shard": self.shard, "action": action},
                exc_info=True,
            )
            self.exit_process(1)
