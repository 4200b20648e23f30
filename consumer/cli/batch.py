"""`sluice batch`: `run` a job (consumer/cli/batch_run.py), and the workflow commands
(`workflow run|unit|render`, `status`, `submit`: consumer/cli/workflow.py)."""

from __future__ import annotations

import argparse

from batch_jobs.registry import JOBS, pipeline_jobs
from consumer.cli.batch_run import add_run_arguments, run_job_command
from consumer.cli.workflow import add_workflow_arguments, cmd_status, cmd_submit, cmd_workflow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="batch_command", required=True)
    run = commands.add_parser(
        "run",
        help="run a job; exit 0 only when it fully succeeded",
        description="\n".join(f"{n}: {JOBS[n].summary}" for n in pipeline_jobs()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(run)
    add_workflow_arguments(commands)


def run(args: argparse.Namespace) -> int:
    others = {"workflow": cmd_workflow, "status": cmd_status, "submit": cmd_submit}
    if args.batch_command in others:
        return others[args.batch_command](args)
    return run_job_command(args)
