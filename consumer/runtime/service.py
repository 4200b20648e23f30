"""Wire the running consumer together from a validated config: the source, the delivery
engine with its pipeline and sinks, and the hooks around them (metrics, health, scale-in
protection), and its side task: the SQS backlog publisher or, for Kinesis, the
KinesisRecordsBehind emitter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

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
from consumer.runtime.workers import Assignment, StatusReporter, WorkerPool
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
    reporter: StatusReporter | None = None
    """A worker process's status to its parent, which serves health for the task."""

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
        if self.reporter is not None:
            self.reporter.start()
        elif self.config.health.port is not None and self.health_server is None:
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
        if self.reporter is not None:
            self.reporter.stop()

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


def build_service(
    config: PipelineConfig,
    base_dir: Path,
    aws: AwsClients,
    worker: Assignment | None = None,
    status_fd: int | None = None,
) -> Service:
    """The consumer of one process; as `worker` i of N (consumer/runtime/workers.py) it
    reads its share, reports to its parent on `status_fd`, and leaves what is per task
    (health endpoint, scale-in protection calls, backlog metrics) to the parent."""
    parts = assemble(config, aws, base_dir)
    stop = threading.Event()
    health = HealthState(config.health)
    # a worker never calls the ECS agent: the parent holds protection for the task
    protection = ScaleInProtection(config.protection, "" if worker is not None else None)
    hook_list: list[Hook] = [health, protection]
    metrics = emf_hook(config.metrics, config.name)
    if metrics is not None:
        hook_list.append(metrics)
    source, publisher = build_source(config, aws, stop, parts.sinks, worker)
    backlog: SideTask | None = publisher
    if backlog is None and metrics is not None and config.metrics.records_behind_interval_s:
        backlog = records_behind_emitter(config, source, metrics.writer)
    reporter, stats = None, Stats()
    if worker is not None:
        backlog = None  # per task: the parent publishes BacklogPerTask, sums records behind
        if status_fd is not None:
            probe = partial(_worker_status, health, source, stats)
            reporter = StatusReporter(status_fd, probe)
            hook_list.append(reporter)
    engine = Engine(
        source,
        parts.pipeline,
        parts.flusher,
        parts.batcher,
        hooks=Hooks(hook_list),
        stats=stats,
        stop=stop,
        retry=config.retry,
    )
    return Service(config, source, engine, parts, health, protection, backlog, reporter=reporter)


def _worker_status(health: HealthState, source: Source, stats: Stats) -> dict[str, Any]:
    """What a worker tells its parent: its liveness and readiness with their details,
    the records it is behind (Kinesis), its counters."""
    live, detail = health.live()
    ready, more = health.ready()
    return {
        "live": live,
        "ready": ready,
        "health": {**detail, **more},
        "behind": source.records_behind(),
        "stats": stats.snapshot(),
    }


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
    worker: Assignment | None = None,
) -> tuple[Source, BacklogPublisher | None]:
    """The configured source, and the backlog publisher an SQS source may drive; an SQS
    source with `exactly_once` publishes through `sinks` what they staged."""
    source = config.source
    if isinstance(source, SqsSourceConfig):
        objects = ObjectReader(aws.client("s3"), config.decode, source.max_object_bytes)
        backlog = None
        if config.backlog.enabled and worker is None:  # a worker's parent publishes it
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
    owns = None if worker is None else worker.owns
    return KinesisSource(source, aws.client("kinesis"), checkpoints, stop, owns=owns), None


def run_workers(
    config: PipelineConfig,
    aws: AwsClients,
    count: int,
    command: Callable[[int, int], Sequence[str]],
    stop: threading.Event,
    env: Mapping[str, str] | None = None,
) -> int:
    """`sluice run` as the parent of `count` worker processes (consumer/runtime/workers.py):
    it serves the task's health, holds its scale-in protection while any worker wants it,
    publishes the scaling metrics once for the task, and returns the task's exit code."""
    protection = ScaleInProtection(config.protection)

    def on_busy(busy: bool) -> None:
        if busy:
            protection.on_buffering("workers")
        else:
            protection.on_idle("workers")

    pool = WorkerPool(
        count,
        command,
        health=config.health,
        stop=stop,
        shutdown_timeout_s=config.shutdown.timeout_s,
        env=env,
        on_busy=on_busy,
    )
    side: list[SideTask] = []
    health_server = None
    if config.health.port is not None:
        health_server = HealthServer(pool, config.health)
        side.append(health_server)
    source = config.source
    if isinstance(source, SqsSourceConfig) and config.backlog.enabled:
        url = queue_url(aws.client("sqs"), config.backlog.queue or source.queue)
        side.append(BacklogPublisher(config.backlog, aws, url, config.name))
    interval = config.metrics.records_behind_interval_s
    if isinstance(source, KinesisSourceConfig) and config.metrics.sink != "off" and interval:
        writer = EmfWriter(config.metrics)
        service = config.metrics.service or config.name
        namespace = config.metrics.namespace
        side.append(RecordsBehindEmitter(pool.records_behind, writer, namespace, service, interval))
    protection.start()
    pool.start()
    for task in side:
        task.start()
    if health_server is not None:
        log.info("health endpoint", extra={"port": health_server.port})
    try:
        pool.wait_reported(config.health.max_poll_gap_s)
        log.info(
            "consumer starting",
            extra={"application": config.name, "source": source.type, "workers": count},
        )
        code = pool.run()
    finally:
        for task in side:
            task.stop()
        protection.stop()
    log.info("consumer stopped", extra={"workers": count, "exit_code": code, **pool.stats()})
    pool.repeat_failure()
    return code
