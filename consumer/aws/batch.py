"""Submit a batch job to AWS Batch, fanned out as an array job, and read it back.

`N` parts become one array job of size N (AWS Batch starts N children, each with
`AWS_BATCH_JOB_ARRAY_INDEX` = its index), every child running the job with `--part` unset
and `SLUICE_PARTS=N`, so child i takes part i (batch_jobs/parts.py); one part is one plain
job. The queue and the job definition (the sluice image, the task role) come from flags or
`SLUICE_BATCH_JOB_QUEUE` and `SLUICE_BATCH_JOB_DEFINITION`, which the Terraform `aws_batch`
module outputs. AWS Batch retries a child by the job definition's retry strategy and
reports the array's status as SUCCEEDED only when every child succeeded.

SubmitJob has no idempotency token: a submit repeated after a lost answer starts a second
array job. Its parts write the same objects (deterministic keys), so it costs compute, not
correctness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "SLUICE_BATCH_"
MAX_ARRAY_SIZE = 10_000


class BatchLaunchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job_queue: str = Field(min_length=1, description="job queue name or ARN")
    job_definition: str = Field(min_length=1, description="name[:revision] or ARN")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: str | None) -> BatchLaunchConfig:
        """Settings from `SLUICE_BATCH_*`, non-None `overrides` (flags) winning."""
        raw = {
            name: overrides.get(name) or env.get(ENV_PREFIX + name.upper())
            for name in cls.model_fields
        }
        return cls.model_validate({k: v for k, v in raw.items() if v})


@dataclass(frozen=True)
class Child:
    index: int
    status: str
    exit_code: int | None
    reason: str | None


@dataclass(frozen=True)
class BatchJob:
    """A submitted job as AWS Batch reports it; `children` for an array job."""

    job_id: str
    name: str
    status: str
    reason: str | None
    size: int
    summary: dict[str, int] = field(default_factory=dict)
    children: tuple[Child, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class BatchLauncher:
    def __init__(self, client: Any, config: BatchLaunchConfig) -> None:
        self.client = client
        self.config = config

    def submit(self, name: str, command: Sequence[str], parts: int) -> str:
        """Submit `command` (the arguments after the image's ENTRYPOINT) as `parts` parts:
        an array job when there are several; returns the job id."""
        if not 1 <= parts <= MAX_ARRAY_SIZE:
            raise ValueError(f"--parts {parts}: AWS Batch takes 1 to {MAX_ARRAY_SIZE}")
        overrides: dict[str, Any] = {"command": list(command)}
        kwargs: dict[str, Any] = {}
        if parts > 1:
            overrides["environment"] = [{"name": "SLUICE_PARTS", "value": str(parts)}]
            kwargs["arrayProperties"] = {"size": parts}
        response = self.client.submit_job(
            jobName=name,
            jobQueue=self.config.job_queue,
            jobDefinition=self.config.job_definition,
            containerOverrides=overrides,
            propagateTags=True,
            **kwargs,
        )
        job_id: str = response["jobId"]
        return job_id

    def describe(self, job_id: str) -> BatchJob | None:
        """The job and, for an array job, each child; None when AWS Batch has no such job."""
        jobs = self.client.describe_jobs(jobs=[job_id])["jobs"]
        if not jobs:
            return None
        job = jobs[0]
        array = job.get("arrayProperties") or {}
        size = int(array.get("size") or 1)
        children = self._children(job_id, size) if "size" in array else ()
        return BatchJob(
            job_id=job["jobId"],
            name=job["jobName"],
            status=job["status"],
            reason=job.get("statusReason"),
            size=size,
            summary={k: v for k, v in (array.get("statusSummary") or {}).items() if v},
            children=children,
        )

    def _children(self, job_id: str, size: int) -> tuple[Child, ...]:
        """An array job's children: their ids are the parent's with `:<index>`."""
        ids = [f"{job_id}:{index}" for index in range(size)]
        described: list[dict[str, Any]] = []
        for start in range(0, len(ids), 100):  # DescribeJobs takes up to 100 ids
            described += self.client.describe_jobs(jobs=ids[start : start + 100])["jobs"]
        children = [
            Child(
                index=int(job["jobId"].rsplit(":", 1)[1]),
                status=job["status"],
                exit_code=(job.get("container") or {}).get("exitCode"),
                reason=job.get("statusReason"),
            )
            for job in described
        ]
        return tuple(sorted(children, key=lambda child: child.index))
