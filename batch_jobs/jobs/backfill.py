"""backfill: JSON Lines (plain or gzip) or Parquet objects, under an S3 prefix or listed in
a manifest object, through the routes.

Each object is one input: its lines (or Parquet rows) become records positioned by line
(row) number, so a rerun rebuilds the same batches and overwrites the same outputs. An
object that cannot be read (truncated gzip, invalid Parquet, over the size or inflation
caps, missing) is quarantined whole with its reason; the job goes on with the others and
reports failure at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from batch_jobs.jobs.inputs import (
    Format,
    Input,
    from_manifest,
    from_prefix,
    input_format,
    own_arrival,
)
from batch_jobs.parts import belongs
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.errors import RecordError
from consumer.flow import Position, Record
from consumer.sources.objects import ObjectReader

if TYPE_CHECKING:
    from batch_jobs.jobs.parquet import ParquetObject


class BackfillParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str
    prefix: str | None = Field(None, min_length=1, description="read every object under it")
    manifest: str | None = Field(
        None,
        min_length=1,
        description="instead of a prefix: s3://bucket/key (or a key in `bucket`) of an "
        "object naming one input object (key or s3 URL) per line",
    )
    format: Format = Field("auto", description="auto (by suffix: .parquet), jsonl, parquet")
    source: str = Field("backfill", description="the source name records and keys carry")
    max_object_bytes: int = Field(1 << 30, gt=0)
    batch_rows: int = Field(10_000, gt=0, description="Parquet rows held in memory at once")

    @model_validator(mode="after")
    def _one_input(self) -> BackfillParams:
        if (self.prefix is None) == (self.manifest is None):
            raise ValueError("give exactly one of prefix and manifest")
        return self


def inputs_of(s3: Any, params: BackfillParams) -> list[Input]:
    """Every input of the job (all parts), sorted by the partition its records get."""
    if params.manifest is not None:
        return from_manifest(s3, params.bucket, params.manifest, params.max_object_bytes)
    assert params.prefix is not None
    return from_prefix(s3, params.bucket, params.prefix)


def backfill(
    job: BatchPipeline,
    s3: Any,
    params: BackfillParams,
    part: tuple[int, int],
    result: JobResult,
    only: set[str] | None = None,
) -> None:
    """Backfill this part's inputs; `only`: keep just these keys (reprocess's range)."""
    inputs = [
        item
        for item in inputs_of(s3, params)
        if belongs(item.partition, *part) and (only is None or item.key in only)
    ]
    job.progress.begin(len(inputs))
    reader = ObjectReader(s3, job.pipeline.decoder.config, params.max_object_bytes)
    for item in inputs:
        result.inputs += 1
        _one(job, s3, reader, params, item, result)
        job.progress.add(inputs=1)


def _one(
    job: BatchPipeline,
    s3: Any,
    reader: ObjectReader,
    params: BackfillParams,
    item: Input,
    result: JobResult,
) -> None:
    arrival = item.arrival
    try:
        arrival = own_arrival(s3, item)
        opened = _open(s3, reader, params, item)
    except RecordError as error:
        name = item.url.encode()
        record = Record(params.source, item.partition, Position(0), item.partition, arrival, name)
        job.feed(params.source, item.partition, [record], errors={0: error})
        result.failed_inputs.append(f"{item.url}: {error}")
        return
    source, partition = params.source, item.partition
    with opened as lines:
        records = (
            Record(source, partition, Position(n), partition, arrival, line)
            for n, line in enumerate(lines)
        )
        job.feed(source, partition, records)


def _open(
    s3: Any, reader: ObjectReader, params: BackfillParams, item: Input
) -> AbstractContextManager[Iterator[bytes]]:
    """The object's records as JSON lines; raises `RecordError` before yielding any when
    the object cannot be read whole."""
    if input_format(item.key, params.format) == "jsonl":
        return nullcontext(iter(list(reader.lines(item.bucket, item.key))))
    from batch_jobs.jobs.parquet import ParquetObject  # pyarrow only when a job reads Parquet

    return _rows(ParquetObject(s3, item.bucket, item.key, params.max_object_bytes), params)


@contextmanager
def _rows(parquet: ParquetObject, params: BackfillParams) -> Iterator[Iterator[bytes]]:
    with parquet:
        yield parquet.lines(params.batch_rows)
