"""AWS Batch jobs in the embedded emulator, run as local processes.

moto accepts SubmitJob and runs each job (each child of an array job) in a Docker
container, or, without Docker, fails it; it does not set `AWS_BATCH_JOB_ARRAY_INDEX`,
ignores the retry strategy, and never marks an array job FAILED when a child failed. A
`LocalBatchRunner`, while it is entered, runs each job's command in this process's emulator
as the image would (`python -m consumer <command>`: this checkout with the ENTRYPOINT
`sluice`), with the job definition's and the overrides' environment and the variables AWS
Batch sets (`AWS_BATCH_JOB_ID`, `AWS_BATCH_JOB_ATTEMPT`, `AWS_BATCH_JOB_ARRAY_INDEX` for a
child); a non-zero exit is tried again up to the retry strategy's `attempts`, and the job
ends SUCCEEDED or FAILED with the exit code, as AWS Batch reports it. When every child of an
array job has ended and one failed, the array job is FAILED.

It patches moto in this process (the emulator's), so it serves the embedded emulator only;
LocalStack and AWS run their own jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from consumer.local.emulator_ecs import run_local

log = logging.getLogger(__name__)
_active: list[LocalBatchRunner] = []


@dataclass
class Ran:
    job_id: str
    command: list[str]
    environment: dict[str, str]
    exit_code: int


@dataclass
class LocalBatchRunner:
    env: Mapping[str, str]
    """The environment of every job process (endpoint, credentials), under the job's."""
    cwd: Path
    ran: list[Ran] = field(default_factory=list)

    def __enter__(self) -> LocalBatchRunner:
        _patch_jobs()
        _active.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        _active.remove(self)

    def run(self, job: Any) -> None:
        """Run `job` (a moto Job, in its own thread) to its end."""
        properties = job.job_definition.container_properties or {}
        overrides = job.container_overrides
        command = list(overrides.get("command") or properties.get("command") or [])
        environment = {e["name"]: e["value"] for e in properties.get("environment", [])}
        environment |= {e["name"]: e["value"] for e in overrides.get("environment", [])}
        environment["AWS_BATCH_JOB_ID"] = job.job_id
        if "index" in job.array_properties:
            environment["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_properties["index"])
        attempts = int((job.job_definition.retry_strategy or {}).get("attempts") or 1)
        job.job_started_at = datetime.now()
        job.status = "RUNNING"
        code = 0
        for attempt in range(1, attempts + 1):
            environment["AWS_BATCH_JOB_ATTEMPT"] = str(attempt)
            job._start_attempt()
            code = run_local(command, {**self.env, **environment}, self.cwd)
            self.ran.append(Ran(job.job_id, command, dict(environment), code))
            if code == 0:
                break
        job.exit_code = code
        if code != 0:
            job.job_stopped_reason = "Essential container in task exited"
        job._mark_stopped(success=code == 0)
        _end_array(job)


@cache
def _patch_jobs() -> None:
    from moto.batch import models

    def run(job: Any) -> None:
        if not _active:
            job.job_stopped_reason = "no local AWS Batch runner (LocalBatchRunner) is running"
            job._mark_stopped(success=False)
            return
        try:
            _active[-1].run(job)
        except Exception as exc:  # the job fails, the emulator's thread lives on
            log.exception("local batch runner failed", extra={"job": job.job_id})
            job.job_stopped_reason = f"local runner: {exc!r}"
            job._mark_stopped(success=False)

    models.Job.run = run  # type: ignore[method-assign,assignment]


def _end_array(child: Any) -> None:
    """An array job is FAILED once all its children ended and one of them failed."""
    parent_id, _, index = child.job_id.rpartition(":")
    if not index.isdigit():
        return
    parent = child.all_jobs.get(parent_id)
    children = parent._child_jobs if parent is not None else None
    if not children or not all(c.job_stopped for c in children):
        return
    if any(c.status == "FAILED" for c in children):
        parent.job_stopped_reason = "an array child failed"
        parent._mark_stopped(success=False)
