"""Feed records into the consumer's pipeline, flush them to its sinks, report the outcome.

A batch job's records get positions from where they sit in their input (object and line),
so re-running the job rebuilds the same batches with the same S3 keys: outputs are
overwritten, not duplicated. Database sinks upsert as always.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from consumer.aws import AwsClients
from consumer.batcher import PartitionBatcher, RouteKeys
from consumer.config import PipelineConfig
from consumer.decode import Decoder
from consumer.flush import Flusher
from consumer.pipeline import Item, Pipeline
from consumer.quarantine import QUARANTINE_ROUTE
from consumer.record import Record
from consumer.route import Route
from consumer.routing import Router
from consumer.sinks.base import BuildContext, Sink, row_check_of
from consumer.stats import Stats

log = logging.getLogger(__name__)
Outcome = tuple[list[Item], bool]


@dataclass
class JobResult:
    inputs: int = 0
    records: int = 0
    written: int = 0
    quarantined: int = 0
    failed_inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed_inputs


class BatchPipeline:
    """The consumer's pipeline and sinks, built from the same config, driven by a job."""

    def __init__(self, config: PipelineConfig, aws: AwsClients, base_dir: Path) -> None:
        ctx = BuildContext(aws=aws, base_dir=base_dir)
        self.routes = [Route(r, i) for i, r in enumerate(config.routes)]
        self.sinks: dict[str, Sink] = {n: c.build(n, ctx) for n, c in config.sinks.items()}
        quarantine = config.quarantine.build("quarantine", ctx)
        by_route: dict[str, list[Sink]] = {
            r.name: [self.sinks[n] for n in r.config.sinks] for r in self.routes
        }
        by_route[QUARANTINE_ROUTE] = [quarantine]
        self.sinks["quarantine"] = quarantine
        checks = {
            name: [c for s in sinks if (c := row_check_of(s))] for name, sinks in by_route.items()
        }
        router = Router(self.routes, config.router.type_field)
        self.pipeline = Pipeline(Decoder(config.decode), self.routes, router, checks)
        self.flusher = Flusher(by_route, config.retry)
        self.new_batcher = partial(
            PartitionBatcher,
            default_limits=config.buffer,
            route_limits={r.name: r.config.buffer for r in self.routes if r.config.buffer},
            route_keys={
                r.name: RouteKeys(r.config.key, r.config.version_field, r.column_types)
                for r in self.routes
            },
        )
        self.stats = Stats()

    def feed(
        self, source: str, partition: str, records: Iterable[tuple[Record, Outcome | None]]
    ) -> None:
        """Run the records of one input through the pipeline and flush them. A record may
        come with its outcome already decided (items, quarantined), as a replay does."""
        batcher = self.new_batcher(source, partition)
        for record, outcome in records:
            items, quarantined = outcome or self.pipeline.process(record)
            batcher.add(record.position, items, quarantined, record.arrival_time)
            if batcher.due():
                self._flush(batcher)
        if batcher.pending:
            self._flush(batcher)

    def _flush(self, batcher: PartitionBatcher) -> None:
        cut = batcher.cut()
        self.flusher.write(cut)
        self.stats.add_cut(cut)

    def close(self) -> None:
        self.flusher.close()
        for sink in self.sinks.values():
            sink.close()


def timed(result: JobResult, started: float) -> JobResult:
    result.seconds = round(time.monotonic() - started, 3)
    return result
