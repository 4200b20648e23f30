"""The jobs `sluice batch run` knows, each with its validated parameters."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from batch_jobs.backfill import BackfillParams, backfill
from batch_jobs.compact import CompactParams, compact
from batch_jobs.replay import ReplayParams, replay
from batch_jobs.reprocess import ReprocessParams, reprocess
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.aws import AwsClients
from consumer.config import PipelineConfig
from consumer.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    params: type[BaseModel]
    run: Callable[[BatchPipeline, Any, Any, tuple[int, int], JobResult], None]
    summary: str


JOBS: dict[str, Job] = {
    "backfill": Job(
        BackfillParams,
        backfill,
        "JSON Lines objects (plain or gzip) under an S3 prefix through the routes",
    ),
    "replay-quarantine": Job(
        ReplayParams, replay, "quarantined records again; remove those that now pass"
    ),
    "reprocess": Job(
        ReprocessParams,
        reprocess,
        "a dt= range of the lake through a (new) route into a new prefix or table",
    ),
    "compact": Job(
        CompactParams,
        compact,
        "merge each closed partition's small objects, atomically for readers",
    ),
}


def run_job(
    name: str,
    raw_params: Mapping[str, str],
    config: PipelineConfig,
    aws: AwsClients,
    part: tuple[int, int],
    base_dir: Path,
) -> JobResult:
    job = JOBS.get(name)
    if job is None:
        raise ConfigError(f"unknown job {name!r} (known: {', '.join(sorted(JOBS))})")
    try:
        params = job.params.model_validate(dict(raw_params))
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"job {name} parameters: {fields}") from None
    started = time.monotonic()
    result = JobResult()
    pipeline = BatchPipeline(config, aws, base_dir)
    try:
        job.run(pipeline, aws.client("s3"), params, part, result)
    finally:
        pipeline.close()
    snapshot = pipeline.stats.snapshot()
    result.records = result.records or snapshot["records_in"]
    result.written = result.written or snapshot["records_in"] - snapshot["records_quarantined"]
    result.quarantined = result.quarantined or snapshot["records_quarantined"]
    result.seconds = round(time.monotonic() - started, 3)
    log.info(
        "job finished",
        extra={
            "job": name,
            "part": f"{part[0]}/{part[1]}",
            "inputs": result.inputs,
            "records": result.records,
            "written": result.written,
            "quarantined": result.quarantined,
            "failed_inputs": len(result.failed_inputs),
            "seconds": result.seconds,
        },
    )
    return result
