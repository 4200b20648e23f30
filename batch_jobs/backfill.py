"""backfill: JSON Lines objects (plain or gzip) under an S3 prefix, through the routes.

Each object is one input: its lines become records positioned by line number, so a rerun
rebuilds the same batches and overwrites the same outputs. An object that cannot be read
(truncated gzip, over the size or inflation caps) is quarantined whole with its reason;
the job goes on with the others and reports failure at the end.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from batch_jobs.parts import select
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.errors import RecordError
from consumer.record import Position, Record
from consumer.sources.sqs.messages import ObjectReader


class BackfillParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str
    prefix: str = Field(min_length=1)
    source: str = Field("backfill", description="the source name records and keys carry")
    max_object_bytes: int = Field(1 << 30, gt=0)


def list_objects(s3: Any, bucket: str, prefix: str) -> dict[str, float]:
    """Object key -> last-modified epoch seconds, for every object under the prefix."""
    found: dict[str, float] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = obj["LastModified"].timestamp()
    return found


def backfill(
    job: BatchPipeline,
    s3: Any,
    params: BackfillParams,
    part: tuple[int, int],
    result: JobResult,
    only: set[str] | None = None,
) -> None:
    objects = list_objects(s3, params.bucket, params.prefix)
    if only is not None:
        objects = {key: value for key, value in objects.items() if key in only}
    reader = ObjectReader(s3, job.pipeline.decoder.config, params.max_object_bytes)
    for key in select(sorted(objects), *part):
        result.inputs += 1
        arrival = objects[key]
        name = f"s3://{params.bucket}/{key}"
        try:
            lines = list(reader.lines(params.bucket, key))
        except RecordError as error:
            record = Record(params.source, key, Position(0), key, arrival, name.encode())
            job.feed(
                params.source,
                key,
                [(record, ([job.pipeline.quarantine_item(record, error, None)], True))],
            )
            result.failed_inputs.append(f"{name}: {error}")
            continue
        job.feed(
            params.source,
            key,
            (
                (Record(params.source, key, Position(number), key, arrival, line), None)
                for number, line in enumerate(lines)
            ),
        )
