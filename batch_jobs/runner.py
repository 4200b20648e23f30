"""Feed records into the consumer's pipeline, flush them to its sinks, report the outcome.

A batch job's records get positions from where they sit in their input (object and line),
so re-running the job rebuilds the same batches with the same S3 keys: outputs are
overwritten, not duplicated. Database sinks upsert as always.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from batch_jobs.progress import Progress
from consumer.assembly import assemble
from consumer.aws import AwsClients
from consumer.batcher import PartitionBatcher
from consumer.config import PipelineConfig
from consumer.faults import crash_point
from consumer.pipeline import Item
from consumer.record import Position, Record
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
        records: Iterable[tuple[Record, Outcome | None]],
        on_flush: Callable[[Position], None] | None = None,
    ) -> None:
        """Run the records of one input through the pipeline and flush them. A record may
        come with its outcome already decided (items, quarantined), as a replay does.
        `on_flush(last)` runs after each cut every sink confirmed, before the next record
        is taken: a resumable job stores its cursor there (batch_jobs/extract_*.py)."""
        batcher = self.parts.batcher(source, partition)
        for record, outcome in records:
            items, quarantined = outcome or self.pipeline.process(record)
            batcher.add(record.position, items, quarantined, record.arrival_time)
            if batcher.due():
                self._flush(batcher, on_flush)
        if batcher.pending:
            self._flush(batcher, on_flush)

    def _flush(
        self, batcher: PartitionBatcher, on_flush: Callable[[Position], None] | None = None
    ) -> None:
        cut = batcher.cut()
        self.flusher.write(cut)
        # every sink confirmed, nothing recorded yet (cursor, finished-part marker): the
        # window the reliability suite kills a process in (consumer/faults.py)
        crash_point("after_write_before_ack")
        self.stats.add_cut(cut)
        self.progress.add(records=cut.records)
        if on_flush is not None:
            on_flush(cut.last)

    def close(self) -> None:
        self.parts.close()


def timed(result: JobResult, started: float) -> JobResult:
    result.seconds = round(time.monotonic() - started, 3)
    return result
