"""reprocess: re-read a time range of the data lake through a (new) route into a new
prefix or table. The lake's Hive partitions (`dt=YYYY-MM-DD`) select the range; each
object is read like a backfill input, so reruns overwrite their outputs."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from batch_jobs.jobs.backfill import BackfillParams, backfill
from batch_jobs.jobs.inputs import list_objects
from batch_jobs.runner import BatchPipeline, JobResult

_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


class ReprocessParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str
    prefix: str = Field(min_length=1, description="lake prefix of the route, e.g. lake/orders/")
    start: date = Field(description="first dt= day, inclusive")
    end: date = Field(description="last dt= day, inclusive")
    source: str = "reprocess"

    @model_validator(mode="after")
    def _ordered(self) -> ReprocessParams:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


def in_range(key: str, start: date, end: date) -> bool:
    found = _DT.search("/" + key)
    return found is not None and start <= date.fromisoformat(found.group(1)) <= end


def reprocess(
    job: BatchPipeline, s3: Any, params: ReprocessParams, part: tuple[int, int], result: JobResult
) -> None:
    selected = {
        k
        for k in list_objects(s3, params.bucket, params.prefix)
        if in_range(k, params.start, params.end)
    }
    backfill(
        job,
        s3,
        BackfillParams(bucket=params.bucket, prefix=params.prefix, source=params.source),
        part,
        result,
        only=selected,
    )
