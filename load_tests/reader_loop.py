"""The delivery engine as the benchmarks drive it: each batch of records (a GetRecords
response, a KCL processRecords call) is one `Unit` the engine takes (`Engine.take`:
`process_many` for the batch, then each record's items into its partition's buffers, cut
as soon as they are due), and a due cut goes to `write` instead of the sinks. The
benchmarks time this as "sluice core", so the figures are the engine's own per-record
path, the one every source runs (consumer/delivery/engine.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from consumer.delivery.buffer import BufferConfig, PartitionBatcher
from consumer.delivery.engine import Engine
from consumer.flow import Cut, Record
from consumer.pipeline.process import Pipeline
from consumer.sinks.gzipped import gzip_bytes
from consumer.sources.base import SourceBase, Unit


class BenchSource(SourceBase):
    """A source that acks nothing: the benchmark hands the engine its records."""

    kind = "kinesis"

    def __init__(self, origin: str) -> None:
        self.name = self.origin = origin

    def read(self) -> list[Unit]:
        return []

    def ack(self, cut: Cut) -> bool:
        return True


class CutWriter:
    """The engine's flusher in a benchmark: each cut to `write`, no sink."""

    def __init__(self, write: Callable[[Cut], None]) -> None:
        self._write = write

    def write(self, cut: Cut) -> int:
        self._write(cut)
        return 0


def bench_engine(
    pipeline: Pipeline, limits: BufferConfig, write: Callable[[Cut], None], origin: str
) -> Engine:
    """An engine over `pipeline` whose cuts go to `write`."""
    new_batcher = partial(PartitionBatcher, default_limits=limits)
    return Engine(BenchSource(origin), pipeline, CutWriter(write), new_batcher)


def feed(engine: Engine, partition: str, records: Sequence[Record]) -> None:
    """One batch of records through the engine, as a source's read hands it over."""
    engine.take(Unit(partition, records))


def gzip_writer(level: int) -> Callable[[Cut], None]:
    """What the S3 sink does to a cut's bytes before its PUTs: one gzip object per batch."""

    def write(cut: Cut) -> None:
        for batch in cut.batches:
            gzip_bytes(b"".join(batch.lines), level)

    return write
