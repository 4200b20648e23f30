"""Batch jobs as job messages: `sluice jobs` runs them here or starts them on ECS.

A message names a batch job, its params, the pipeline file (`config`, else the runner's
default) and optionally a part; inline it runs through `run_job` exactly as
`sluice batch run` does, on ECS the task runs that very command.
"""

from __future__ import annotations

from pathlib import Path

from batch_jobs.messages.spec import JobRejected, JobSpec
from batch_jobs.parts import parse_part
from batch_jobs.registry import run_job
from consumer.aws.clients import AwsClients
from consumer.config import load_config
from consumer.errors import EtlError


class BatchJobFailed(EtlError):
    """A batch job ran but did not fully succeed (some input failed)."""


class BatchDispatch:
    def __init__(self, aws: AwsClients, base_dir: Path, default_config: str | None) -> None:
        self.aws = aws
        self.base_dir = base_dir
        self.default_config = default_config

    def check(self, spec: JobSpec) -> None:
        """Refuse a message that can never run (no pipeline file, bad part)."""
        self._config(spec)
        try:
            parse_part(spec.part or "0/1")
        except ValueError as exc:
            raise JobRejected(str(exc)) from None

    def _config(self, spec: JobSpec) -> str:
        config = spec.config or self.default_config
        if config is None:
            raise JobRejected(f"batch job {spec.job!r} needs 'config' (or sluice jobs --config)")
        return config

    def run(self, spec: JobSpec) -> None:
        config = load_config(self.base_dir / self._config(spec))
        params = {key: str(value) for key, value in spec.params.items()}
        result = run_job(spec.job, params, config, self.aws, parse_part(spec.part), self.base_dir)
        if not result.ok:
            raise BatchJobFailed(f"{spec.job}: {'; '.join(result.failed_inputs)[:1000]}")

    def command(self, spec: JobSpec) -> list[str]:
        return run_command(spec, self._config(spec))


def run_command(spec: JobSpec, config: str) -> list[str]:
    """`sluice batch run` for the job message, as the arguments after the image's
    ENTRYPOINT ["sluice"]."""
    command = ["batch", "run", spec.job, "--config", config]
    for key, value in sorted(spec.params.items()):
        command += ["--param", f"{key}={value}"]
    if spec.part:
        command += ["--part", spec.part]
    return command
