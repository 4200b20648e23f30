"""Wire the running consumer together from a validated config: the source, the delivery
engine with its pipeline and sinks, and the hooks around them (metrics, health, scale-in
protection), and its side task: the SQS backlog publisher or, for Kinesis, the
KinesisRecordsBehind emitter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.delivery.assembly import Assembly, assemble
from consumer.delivery.engine import Engine
from consumer.delivery.flush import Flusher
from consumer.delivery.hooks import Hook, Hooks
from consumer.delivery.stats import Stats
from consumer.runtime.backlog import BacklogPublisher
from consumer.runtime.health import HealthServer, HealthState
from consumer.runtime.metrics import EmfWriter, emf_hook
from consumer.runtime.protection import ScaleInProtection
from consumer.runtime.records_behind import RecordsBehindEmitter
from consumer.sinks.base import Sink
from consumer.sources.base import Source
from consumer.sources.kinesis.checkpoints import DynamoCheckpointStore, create_table
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.reader import KinesisSource
from consumer.sources.objects import ObjectReader
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.cuts import ledger_cuts
from consumer.sources.sqs.queues import queue_url
from consumer.sources.sqs.reader import SqsSource

log = logging.getLogger(__name__)


class SideTask(Protocol):
    """A thread beside the engine that publishes the backlog (`start`, then `stop`)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Service:
    config: PipelineConfig
    source: Source
    engine: Engine
    parts: Assembly
    health: HealthState
    protection: ScaleInProtection
    backlog: SideTask | None = None
    health_server: HealthServer | None = None

    def run(self, until_idle: bool = False, max_runtime_s: float | None = None) -> None:
        source = self.config.source
        name = source.stream if isinstance(source, KinesisSourceConfig) else source.queue
        log.info(
            "consumer starting",
            extra={"application": self.config.name, "source": source.type, "source_name": name},
        )
        self._start_side_tasks()
        try:
            self.engine.run(until_idle=until_idle, max_runtime_s=max_runtime_s)
        finally:
            self._stop_side_tasks()
        log.info("consumer stopped", extra=self.stats.snapshot())

    def _start_side_tasks(self) -> None:
        self.protection.start()
        if self.config.health.port is not None and self.health_server is None:
            self.health_server = HealthServer(self.health, self.config.health)
            self.health_server.start()
            log.info("health endpoint", extra={"port": self.health_server.port})
        if self.backlog is not None:
            self.backlog.start()

    def _stop_side_tasks(self) -> None:
        if self.backlog is not None:
            self.backlog.stop()
        if self.health_server is not None:
            self.health_server.stop()
            self.health_server = None
        self.protection.stop()

    @property
    def stats(self) -> Stats:
        return self.engine.stats

    @property
    def sinks(self) -> dict[str, Sink]:
        return self.parts.sinks

    @property
    def flusher(self) -> Flusher:
        return self.parts.flusher

    @property
    def stop(self) -> threading.Event:
        return self.engine.stop

    def close(self) -> None:
        self.parts.close()


def build_service(config: PipelineConfig, base_dir: Path, aws: AwsClients) -> Service:
    parts = assemble(config, aws, base_dir)
    stop = threading.Event()
    health, protection = HealthState(config.health), ScaleInProtection(config.protection)
    hook_list: list[Hook] = [health, protection]
    metrics = emf_hook(config.metrics, config.name)
    if metrics is not None:
        hook_list.append(metrics)
    source, publisher = build_source(config, aws, stop, parts.sinks)
    backlog: SideTask | None = publisher
    if backlog is None and metrics is not None and config.metrics.records_behind_interval_s:
        backlog = records_behind_emitter(config, source, metrics.writer)
    engine = Engine(
        source,
        parts.pipeline,
        parts.flusher,
        parts.batcher,
        hooks=Hooks(hook_list),
        stop=stop,
        retry=config.retry,
    )
    return Service(config, source, engine, parts, health, protection, backlog)


def records_behind_emitter(
    config: PipelineConfig, source: Source, writer: EmfWriter
) -> RecordsBehindEmitter | None:
    """A Kinesis source's KinesisRecordsBehind emitter, through the metrics hook's writer
    (one writer: its lines never interleave with the flushes' records)."""
    if not isinstance(config.source, KinesisSourceConfig):
        return None
    return RecordsBehindEmitter(
        source.records_behind,
        writer,
        config.metrics.namespace,
        config.metrics.service or config.name,
        config.metrics.records_behind_interval_s,
    )


def build_source(
    config: PipelineConfig,
    aws: AwsClients,
    stop: threading.Event,
    sinks: Mapping[str, Sink],
) -> tuple[Source, BacklogPublisher | None]:
    """The configured source, and the backlog publisher an SQS source may drive; an SQS
    source with `exactly_once` publishes through `sinks` what they staged."""
    source = config.source
    if isinstance(source, SqsSourceConfig):
        objects = ObjectReader(aws.client("s3"), config.decode, source.max_object_bytes)
        backlog = None
        if config.backlog.enabled:
            url = queue_url(aws.client("sqs"), config.backlog.queue or source.queue)
            backlog = BacklogPublisher(config.backlog, aws, url, config.name)
        cuts = ledger_cuts(source, aws, sinks, config.retry)
        return SqsSource(source, aws.client("sqs"), objects, stop, cuts=cuts), backlog
    dynamodb = aws.client("dynamodb")
    if source.create_checkpoint_table:
        create_table(dynamodb, source.checkpoint_table)
    checkpoints = DynamoCheckpointStore(
        dynamodb, source.checkpoint_table, config.name, source.stream, config.retry
    )
    return KinesisSource(source, aws.client("kinesis"), checkpoints, stop), None
