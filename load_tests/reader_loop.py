"""The loop a sluice reader runs over one batch of records (a GetRecords response, a KCL
processRecords call): `Pipeline.process_many` for the whole batch, then each record's
items into its partition's buffers, cut as soon as they are due
(`consumer/sources/kinesis/reader.py`, `_poll` and `_accept`). The benchmarks time this as
"sluice core", so the figures are the readers' own per-record path."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence

from consumer.delivery.buffer import PartitionBatcher
from consumer.flow import Cut, Record
from consumer.pipeline.process import Pipeline


def feed(
    pipeline: Pipeline,
    batcher: PartitionBatcher,
    records: Sequence[Record],
    write: Callable[[Cut], None],
) -> None:
    """One batch of records through the pipeline into `batcher`; each due cut to `write`."""
    outcomes = pipeline.process_many(records)
    for record, (items, quarantined) in zip(records, outcomes, strict=True):
        batcher.add(record.position, items, quarantined, record.arrival_time)
        if batcher.due():
            write(batcher.cut())


def gzip_writer(level: int) -> Callable[[Cut], None]:
    """What the S3 sink does to a cut's bytes before its PUTs: one gzip object per batch."""

    def write(cut: Cut) -> None:
        for batch in cut.batches:
            gzip.compress(b"".join(batch.lines), level)

    return write
