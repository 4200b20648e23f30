"""iceberg-maintenance: compact, expire and clean the Iceberg tables of one sink
(consumer/sinks/iceberg/maintenance.py has what each step does and why it is safe beside
the streaming writers). Tables are split over parts like any job's inputs; a run can be
repeated at any time."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from batch_jobs.parts import select
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.errors import ConfigError

log = logging.getLogger(__name__)
DAY_S = 86_400.0


class IcebergMaintenanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sink: str = Field(min_length=1, description="the Iceberg sink of the pipeline file")
    compact: bool = True
    compact_min_files: int = Field(4, ge=2, description="rewrite partitions with this many")
    compact_older_than_s: float = Field(
        3600.0, ge=0, description="partitions whose hour or day ended this long ago"
    )
    expire_older_than_s: float = Field(
        15 * DAY_S,
        ge=DAY_S,
        description="expire snapshots older than this (above the sources' longest replay)",
    )
    staging_older_than_s: float = Field(
        16 * DAY_S, ge=DAY_S, description="delete staged SQS cut files older than this"
    )


def iceberg_maintenance(
    job: BatchPipeline,
    s3: Any,
    params: IcebergMaintenanceParams,
    part: tuple[int, int],
    result: JobResult,
) -> None:
    from consumer.sinks.iceberg.maintenance import Maintained, compact, expire, remove_staged
    from consumer.sinks.iceberg.sink import IcebergSink

    sink = job.parts.sinks.get(params.sink)
    if not isinstance(sink, IcebergSink):
        raise ConfigError(f"iceberg-maintenance: sink {params.sink!r} is not an Iceberg sink")
    done = Maintained()
    for identifier in select(sink.table_names(), *part):
        table = sink.table(identifier)
        if params.compact:
            compact(table, params.compact_min_files, params.compact_older_than_s, done)
        expire(table, params.expire_older_than_s, done)
        remove_staged(table, params.staging_older_than_s, done)
        result.inputs += 1
    result.records = result.written = done.rows_rewritten
    log.info("iceberg maintenance", extra={"sink": params.sink, **vars(done)})
