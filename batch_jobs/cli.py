"""`sluice batch run JOB` and `python -m batch_jobs run JOB`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from batch_jobs.parts import parse_part
from batch_jobs.registry import JOBS, run_job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="batch_command", required=True)
    run = commands.add_parser(
        "run",
        help="run a job; exit 0 only when it fully succeeded",
        description="\n".join(f"{n}: {j.summary}" for n, j in JOBS.items()),
    )
    run.add_argument("job", choices=sorted(JOBS))
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
        help="take part i of N (default: AWS_BATCH_JOB_ARRAY_INDEX/SLUICE_PARTS)",
    )


def run(args: argparse.Namespace) -> int:
    from consumer.aws import AwsClients
    from consumer.config import load_config

    params = dict(item.split("=", 1) for item in args.param)
    result = run_job(
        args.job, params, load_config(args.config), AwsClients(), parse_part(args.part), Path.cwd()
    )
    summary = {
        "job": args.job,
        "inputs": result.inputs,
        "records": result.records,
        "written": result.written,
        "quarantined": result.quarantined,
        "failed_inputs": result.failed_inputs,
        "seconds": result.seconds,
    }
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    from consumer.cli import main as sluice

    return sluice(["batch", *(argv if argv is not None else sys.argv[1:])])
