"""`sluice batch submit JOB --launch batch [--parts N]` and `sluice batch status JOB_ID
--aws-batch`: a batch job as an AWS Batch (array) job, and its state read back
(consumer/aws/batch.py)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from consumer.errors import ConfigError


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS Batch (default: SLUICE_BATCH_* from the environment)")
    group.add_argument("--batch-job-queue", default=None, help="job queue name or ARN")
    group.add_argument(
        "--batch-job-definition", default=None, help="job definition name[:revision] or ARN"
    )


def launcher(args: argparse.Namespace, aws: Any) -> Any:
    from pydantic import ValidationError

    from consumer.aws.batch import BatchLaunchConfig, BatchLauncher

    try:
        config = BatchLaunchConfig.from_env(
            os.environ,
            job_queue=args.batch_job_queue,
            job_definition=args.batch_job_definition,
        )
    except ValidationError as exc:
        missing = sorted(str(e["loc"][0]) for e in exc.errors())
        flags = ", ".join(f"--batch-{name.replace('_', '-')}" for name in missing)
        raise ConfigError(f"AWS Batch needs {flags} (or SLUICE_BATCH_*)") from None
    return BatchLauncher(aws.client("batch"), config)


def submit(args: argparse.Namespace, aws: Any, command: Sequence[str]) -> int:
    """Submit the job's command as `--parts` parts; prints the job id."""
    parts = args.parts or 1
    job_id = launcher(args, aws).submit(f"sluice-{args.job}", command, parts)
    out = {"job_id": job_id, "job_name": f"sluice-{args.job}", "parts": parts, "command": command}
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0


def cmd_status(args: argparse.Namespace, aws: Any) -> int:
    """The job's status and each child's; exit 0 when it succeeded, 3 otherwise."""
    job = launcher(args, aws).describe(args.run_id)
    if job is None:
        print(f"sluice: AWS Batch has no job {args.run_id!r}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(job, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render(job))
    return 0 if job.succeeded else 3


def render(job: Any) -> str:
    summary = ", ".join(f"{status} {count}" for status, count in sorted(job.summary.items()))
    lines = [
        f"job {job.job_id}  {job.name}  {job.status}  parts {job.size}"
        + (f"  ({summary})" if summary else "")
        + (f"  reason: {job.reason}" if job.reason else "")
    ]
    for child in job.children:
        lines.append(
            f"  part {child.index}/{job.size}  {child.status:<10}"
            + (f"  exit {child.exit_code}" if child.exit_code is not None else "")
            + (f"  reason: {child.reason}" if child.reason else "")
        )
    return "\n".join(lines) + "\n"
