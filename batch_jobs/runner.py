"""Run a batch job's records through the consumer's delivery engine, report the result.

A batch job's records get positions from where they sit in their input (object and line),
so re-running the job rebuilds the same batches with the same S3 keys: outputs are
overwritten, not duplicated. Database sinks upsert as always.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from batch_jobs.progress import Progress
from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.delivery.assembly import assemble
from consumer.delivery.engine import Engine
from consumer.delivery.stats import Stats
from consumer.errors import RecordError
from consumer.flow import Cut, Position, Processed, Record
from consumer.sources.bounded import BoundedSource

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    inputs: int = 0
    records: int = 0
    written: int = 0
    quarantined: int = 0
    failed_inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False
    """The part had finished in an earlier run with the same run id (batch_jobs/ledger.py):
    nothing was done now, and the figures are zero."""

    @property
    def ok(self) -> bool:
        return not self.failed_inputs


class BatchPipeline:
    """The consumer's pipeline and sinks, built from the same config, driven by a job."""

    def __init__(
        self,
        config: PipelineConfig,
        aws: AwsClients,
        base_dir: Path,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.aws = aws
        self.progress = progress or Progress("job")
        """Jobs report finished inputs here (`progress.add(inputs=1)`); records count per flush."""
        self.parts = assemble(config, aws, base_dir)
        self.pipeline = self.parts.pipeline
        self.flusher = self.parts.flusher
        self.stats = Stats()

    def feed(
        self,
        source: str,
        partition: str,
        records: Iterable[Record],
        on_flush: Callable[[Position], None] | None = None,
        *,
        outcomes: Sequence[Processed] | None = None,
        errors: Mapping[int, RecordError] | None = None,
        chunk: int = 256,
        stable_positions: bool = True,
    ) -> None:
        """Deliver the records of one input through the engine (consumer/delivery).
        `outcomes` are decided already (a replay); `errors` are records that could not be
        read (by index), quarantined. `on_flush(last)` runs after each cut every sink
        confirmed, before the next record is taken: a resumable job stores its cursor
        there (batch_jobs/extract_*.py), and passes `chunk=1` so that records are built
        one at a time, after the commit before them. `stable_positions=False` when a rerun
        may give other records the same positions (docs/lake.md: Iceberg then commits
        every row)."""

        def acked(cut: Cut) -> None:
            self.progress.add(records=cut.records)
            if on_flush is not None:
                on_flush(cut.last)

        bounded = BoundedSource(
            source,
            partition,
            records,
            acked,
            outcomes=outcomes,
            errors=errors,
            chunk=chunk,
            stable_positions=stable_positions,
        )
        parts = self.parts
        Engine(bounded, parts.pipeline, parts.flusher, parts.batcher, stats=self.stats).run(
            until_idle=True
        )

    def close(self) -> None:
        self.parts.close()


def timed(result: JobResult, started: float) -> JobResult:
    result.seconds = round(time.monotonic() - started, 3)
    return result
