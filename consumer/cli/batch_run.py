"""`sluice batch run JOB`: one job over the pipeline file's routes and sinks, its last
stdout line a JSON summary, exit 0 only when every input succeeded."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from batch_jobs.parts import parse_params, parse_part
from batch_jobs.registry import pipeline_jobs, run_job


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("job", choices=pipeline_jobs())
    run.add_argument("--config", required=True, help="pipeline file (routes, sinks)")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="job parameter (repeatable), e.g. bucket=lake prefix=in/2026-11",
    )
    run.add_argument(
        "--part",
        default=None,
        metavar="i/N",
        help="take part i of N (default: AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX "
        "with SLUICE_PARTS)",
    )
    run.add_argument(
        "--run-id",
        default=None,
        help="record finished parts under this id; a rerun skips them (default: SLUICE_RUN_ID)",
    )
    run.add_argument(
        "--progress-interval-s",
        type=float,
        default=None,
        help="seconds between progress log lines when stderr is not a terminal (10)",
    )


def run_job_command(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.runtime.protection import ScaleInProtection

    params = parse_params(args.param)
    part = parse_part(args.part)
    config = load_config(args.config)
    # A part run by a service is protected from scale-in while it runs; a standalone
    # RunTask is told by its agent that protection does not apply, once.
    protection = ScaleInProtection(config.protection)
    protection.start()
    try:
        with protection.unit(f"batch {args.job} part {part[0]}/{part[1]}"):
            result = run_job(
                args.job,
                params,
                config,
                AwsClients(),
                part,
                Path.cwd(),
                run_id=args.run_id,
                progress_interval_s=args.progress_interval_s,
            )
    finally:
        protection.stop()
    summary = {
        "job": args.job,
        "skipped": result.skipped,
        "inputs": result.inputs,
        "records": result.records,
        "written": result.written,
        "quarantined": result.quarantined,
        "failed_inputs": result.failed_inputs,
        "seconds": result.seconds,
    }
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0 if result.ok else 1
