"""replay-quarantine: run quarantined records again (after a schema or transform fix).

For each quarantine object: every envelope's original bytes go through the pipeline
again. Records that now pass are written to their route's sinks (positioned by quarantine
object and row, so a rerun overwrites). Then the quarantine object is rewritten with only
the envelopes that still fail (with their new reason and attempt), or deleted when none
do. A crash between the two steps only repeats idempotent writes on the next run.

Envelopes of stage ``quality`` hold an output row that failed a data quality check, not a
record: the pipeline cannot take them again, so they are kept as they are.

Its figures: `records` the envelopes read, `written` those that passed now, `quarantined`
those still in the quarantine (failing again, or quality rejections kept); so records =
written + quarantined.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from batch_jobs.parts import select
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.flow import Position, Processed, Record
from consumer.pipeline.quarantine import original_bytes
from consumer.quality.cut import QUALITY_STAGE
from consumer.sinks.gzipped import gzip_bytes
from consumer.sinks.s3 import iter_objects


class ReplayParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str
    prefix: str = "quarantine"
    source: str = "replay"


def _record(row: dict[str, Any], key: str) -> Record:
    arrival = datetime.fromisoformat(row["arrival_time"]).timestamp()
    return Record(
        row["source"],
        row["partition"],
        Position(int(row["sequence_number"]), int(row["sub_sequence_number"])),
        row["partition_key"],
        arrival,
        original_bytes(row),
        row.get("attributes") or {},
        attempt=int(row.get("attempt", 1)) + 1,
    )


def replay(
    job: BatchPipeline, s3: Any, params: ReplayParams, part: tuple[int, int], result: JobResult
) -> None:
    objects = dict(iter_objects(s3, params.bucket, params.prefix))
    mine = list(select(sorted(objects), *part))
    job.progress.begin(len(mine))
    for key in mine:
        result.inputs += 1
        passed: list[Record] = []
        outcomes: list[Processed] = []
        still_failing: list[bytes] = []
        for index, row in enumerate(objects[key]):
            if row.get("stage") == QUALITY_STAGE:
                still_failing.append(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
                continue
            record = _record(row, key)
            items, quarantined = job.pipeline.process(record)
            if quarantined:
                still_failing += [item.line for item in items]
                continue
            replayed = Record(
                params.source,
                key,
                Position(index),
                record.partition_key,
                record.arrival_time,
                record.data,
                record.attributes,
            )
            passed.append(replayed)
            outcomes.append((items, False))
        # indexes into a quarantine object that each run rewrites: not a record's identity
        job.feed(params.source, key, passed, outcomes=outcomes, stable_positions=False)
        result.records += len(objects[key])  # records = written + quarantined
        result.written += len(passed)
        result.quarantined += len(still_failing)
        if still_failing:
            s3.put_object(Bucket=params.bucket, Key=key, Body=gzip_bytes(b"".join(still_failing)))
        else:
            s3.delete_object(Bucket=params.bucket, Key=key)
        job.progress.add(inputs=1)
