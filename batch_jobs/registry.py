"""The one registry of jobs: the pipeline jobs `sluice batch run` knows (each with its
validated parameters, run over the pipeline file's routes and sinks), and the plain
functions registered with `@job(NAME)` that job messages may name (`sluice jobs`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError

from batch_jobs.jobs.backfill import BackfillParams, backfill
from batch_jobs.jobs.compact import CompactParams, compact
from batch_jobs.jobs.extract_db import ExtractDbParams, extract_db
from batch_jobs.jobs.extract_http import ExtractHttpParams, extract_http
from batch_jobs.jobs.iceberg import IcebergMaintenanceParams, iceberg_maintenance
from batch_jobs.jobs.replay import ReplayParams, replay
from batch_jobs.jobs.reprocess import ReprocessParams, reprocess
from batch_jobs.options import split_options
from batch_jobs.progress import Progress
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.errors import ConfigError

log = logging.getLogger(__name__)


PipelineRun = Callable[[BatchPipeline, Any, Any, tuple[int, int], JobResult], None]
JobFunction = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Job:
    """A pipeline job (`params`, `run`) or a registered function (`function`)."""

    params: type[BaseModel] | None
    run: PipelineRun | None
    summary: str
    function: JobFunction | None = None

    @property
    def on_pipeline(self) -> bool:
        """Whether it runs over a pipeline file (and so may also run as its own ECS task)."""
        return self.run is not None


JOBS: dict[str, Job] = {
    "backfill": Job(
        BackfillParams,
        backfill,
        "JSON Lines (plain or gzip) or Parquet objects under an S3 prefix or in a manifest, "
        "through the routes",
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
    "iceberg-maintenance": Job(
        IcebergMaintenanceParams,
        iceberg_maintenance,
        "an Iceberg sink's tables: compact closed partitions, expire old snapshots (keeping "
        "each partition's last commit), delete staged files of aborted SQS cuts",
    ),
    "extract-http": Job(
        ExtractHttpParams,
        extract_http,
        "a paginated JSON API through the routes, resumable from its cursor",
    ),
    "extract-db": Job(
        ExtractDbParams,
        extract_db,
        "a PostgreSQL table through the routes, incrementally by a watermark column",
    ),
}


def pipeline_jobs() -> list[str]:
    """The names `sluice batch run` takes."""
    return sorted(name for name, known in JOBS.items() if known.on_pipeline)


def job(name: str, summary: str = "") -> Callable[[JobFunction], JobFunction]:
    """Register `func` as the job `name` that job messages may name; it is called with the
    message's params."""

    def register(func: JobFunction) -> JobFunction:
        known = JOBS.get(name)
        if known is not None and known.on_pipeline:
            raise ConfigError(f"job {name!r} is a batch job already")
        JOBS[name] = Job(None, None, summary or (func.__doc__ or "").strip(), function=func)
        return func

    return register


def jobs_with(functions: Mapping[str, JobFunction]) -> dict[str, Job]:
    """The registry with these functions added (or in place of jobs of the same name), as
    a runner's own registry without touching the global one (tests, the demo)."""
    added = {name: Job(None, None, "", function=func) for name, func in functions.items()}
    return {**JOBS, **added}


def run_job(
    name: str,
    raw_params: Mapping[str, str],
    config: PipelineConfig,
    aws: AwsClients,
    part: tuple[int, int],
    base_dir: Path,
    *,
    run_id: str | None = None,
    progress_interval_s: float | None = None,
    progress_stream: TextIO | None = None,
) -> JobResult:
    """Run part `part` (i, N) of job `name`. With a run id (`run_id` here, the `run_id`
    parameter or `SLUICE_RUN_ID`) a part that finished in that run is skipped, and one that
    finishes now is recorded once all its writes are confirmed (batch_jobs/ledger.py).
    Progress goes to `progress_stream` (stderr): a bar on a terminal, logs otherwise."""
    job = JOBS.get(name)
    if job is None or job.params is None or job.run is None:
        raise ConfigError(f"unknown job {name!r} (known: {', '.join(pipeline_jobs())})")
    own, options = split_options(raw_params, run_id=run_id, progress_interval_s=progress_interval_s)
    try:
        params = job.params.model_validate(own)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"job {name} parameters: {fields}") from None
    ledger = options.ledger(aws.client("s3"), name, params)
    dumped = params.model_dump(mode="json")
    if ledger is not None and ledger.done(part, dumped) is not None:
        log.info(
            "part already finished in this run, skipped",
            extra={"job": name, "part": f"{part[0]}/{part[1]}", "run_id": ledger.run_id},
        )
        return JobResult(skipped=True)
    started = time.monotonic()
    result = JobResult()
    progress = Progress.for_stream(name, part, options.progress_interval_s, progress_stream)
    pipeline = BatchPipeline(config, aws, base_dir, progress=progress)
    try:
        job.run(pipeline, aws.client("s3"), params, part, result)
    finally:
        pipeline.close()
    snapshot = pipeline.stats.snapshot()
    result.records = result.records or snapshot["records_in"]
    result.written = result.written or snapshot["records_in"] - snapshot["records_quarantined"]
    result.quarantined = result.quarantined or snapshot["records_quarantined"]
    result.seconds = round(time.monotonic() - started, 3)
    figures = summary(result)
    progress.finish(
        f"{progress.label}: " + ", ".join(f"{value:,} {key}" for key, value in figures.items())
    )
    marker = None
    if ledger is not None and result.ok:  # the sinks are closed: every write confirmed
        marker = ledger.finish(part, {**figures, "params": dumped})
    log.info(
        "job finished",
        extra={
            "job": name,
            "part": f"{part[0]}/{part[1]}",
            **figures,
            "failed_inputs": len(result.failed_inputs),
            **({"run_id": options.run_id, "marker": marker} if options.run_id else {}),
        },
    )
    return result


def summary(result: JobResult) -> dict[str, Any]:
    """The figures of a part: what its marker and its final log line carry."""
    return {
        "inputs": result.inputs,
        "records": result.records,
        "written": result.written,
        "quarantined": result.quarantined,
        "seconds": result.seconds,
    }
