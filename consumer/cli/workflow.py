"""`sluice batch workflow run|unit|render`, `sluice batch status` and `sluice batch submit`."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from batch_jobs.parts import parse_params, parse_part
from consumer.cli.batch_launch import add_batch_options
from consumer.errors import ConfigError


def add_ecs_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ECS launch (default: SLUICE_ECS_* from the environment)")
    group.add_argument("--ecs-cluster", default=None)
    group.add_argument("--ecs-task-definition", default=None, help="family[:revision] or ARN")
    group.add_argument("--ecs-container", default=None, help="container to run (sluice)")
    group.add_argument("--ecs-subnets", default=None, help="comma-separated subnet ids")
    group.add_argument("--ecs-security-groups", default=None, help="comma-separated ids")


def add_workflow_arguments(commands: Any) -> None:
    workflow = commands.add_parser("workflow", help="run a workflow of batch job steps")
    sub = workflow.add_subparsers(dest="workflow_command", required=True)
    run = sub.add_parser(
        "run", help="run or resume a workflow run; exit 0 only when every step succeeded"
    )
    run.add_argument("file", help="workflow file (TOML; docs/batch-jobs.md)")
    run.add_argument("--run-id", default=None, help="resume this run (default: a new id)")
    run.add_argument("--launch", choices=["inline", "ecs"], default=None, help="for every step")
    add_ecs_options(run)
    unit = sub.add_parser("unit", help="run one unit of a run (what each ECS task runs)")
    unit.add_argument("file")
    unit.add_argument("--run-id", required=True)
    unit.add_argument("--unit", required=True, help="<step>.<task>.<part>, or <step>.<task>")
    unit.add_argument("--part", default=None, metavar="i/N", help="with --unit <step>.<task>")
    unit.add_argument(
        "--attempt",
        type=int,
        default=None,
        help="the attempt the orchestrator began (default: begin the next one here, as a "
        "Step Functions retry does)",
    )
    from consumer.cli.workflow_render import add_render_arguments

    render = sub.add_parser(
        "render", help="print the workflow as a Step Functions state machine definition"
    )
    add_render_arguments(render)
    add_ecs_options(render)

    status = commands.add_parser(
        "status", help="a workflow run's steps, units and outputs, or an AWS Batch job's parts"
    )
    status.add_argument("run_id", help="the run id, or with --aws-batch the job id")
    where = status.add_mutually_exclusive_group(required=True)
    where.add_argument("--workflow", default=None, help="workflow file (names the runs table)")
    where.add_argument("--runs-table", default=None)
    where.add_argument(
        "--aws-batch", action="store_true", help="RUN_ID is an AWS Batch job id (batch submit)"
    )
    status.add_argument("--json", action="store_true", help="the run record as JSON")
    add_batch_options(status)

    submit = commands.add_parser(
        "submit",
        help="start a job: inline, as an ECS task (RunTask), as an AWS Batch (array) job, "
        "or as a job message",
    )
    submit.add_argument("job")
    submit.add_argument("--config", required=True, help="pipeline file (as the task sees it)")
    submit.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    submit.add_argument("--part", default=None, metavar="i/N")
    submit.add_argument("--launch", choices=["inline", "ecs", "batch"], default="ecs")
    submit.add_argument(
        "--parts",
        type=int,
        default=None,
        metavar="N",
        help="with --launch batch: an array job of N children, child i taking part i/N",
    )
    submit.add_argument(
        "--queue", default=None, help="send a job message there instead (run by `sluice jobs`)"
    )
    submit.add_argument("--idempotency-key", default=None, help="for --queue (default: new)")
    add_ecs_options(submit)
    add_batch_options(submit)


def launcher_from(args: argparse.Namespace, aws: Any) -> Any:
    import os

    from consumer.aws.ecs import EcsLaunchConfig, EcsLauncher

    config = EcsLaunchConfig.from_flags(os.environ, args)
    return EcsLauncher(aws.client("ecs"), config)


def cmd_workflow(args: argparse.Namespace) -> int:
    from batch_jobs.workflow.config import load_workflow
    from batch_jobs.workflow.runner import WorkflowRunner
    from batch_jobs.workflow.runrecord import RunRecords
    from batch_jobs.workflow.unit import execute_unit, find_unit
    from consumer.aws.clients import AwsClients

    if args.workflow_command == "render":
        from consumer.cli.workflow_render import cmd_render

        return cmd_render(args)
    workflow = load_workflow(args.file)
    aws = AwsClients()
    if args.workflow_command == "unit":
        unit = find_unit(workflow, args.unit, args.part)
        folder = Path(args.file).parent
        attempt = args.attempt
        if attempt is None:
            records = RunRecords(aws.client("dynamodb"), workflow.runs_table)
            attempt = records.begin_attempt(args.run_id, unit.id, unit.step, unit.task.job)
        ok = execute_unit(workflow, folder, args.run_id, unit, attempt, aws)
        return 0 if ok else 1
    if args.launch:
        workflow = workflow.model_copy(update={"launch": args.launch})
    uses_ecs = workflow.launch == "ecs" or any(s.launch == "ecs" for s in workflow.steps)
    launcher = launcher_from(args, aws) if uses_ecs else None
    run_id = args.run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + uuid.uuid4().hex[:6]
    ok = WorkflowRunner(workflow, args.file, aws, launcher).run(run_id)
    sys.stdout.write(orjson.dumps({"run_id": run_id, "ok": ok}).decode() + "\n")
    return 0 if ok else 1


def cmd_status(args: argparse.Namespace) -> int:
    from batch_jobs.workflow.config import load_workflow
    from batch_jobs.workflow.runrecord import RunRecords
    from consumer.aws.clients import AwsClients

    if args.aws_batch:
        from consumer.cli import batch_launch

        return batch_launch.cmd_status(args, AwsClients())
    table = args.runs_table or load_workflow(args.workflow).runs_table
    items = RunRecords(AwsClients().client("dynamodb"), table).read(args.run_id)
    if not items:
        print(f"sluice: no run {args.run_id!r} in {table}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render_status(args.run_id, items))
    return 0 if items.get("run", {}).get("state") == "succeeded" else 3


def render_status(run_id: str, items: dict[str, dict[str, Any]]) -> str:
    run = items.get("run", {})
    lines = [
        f"run {run_id}  workflow {run.get('workflow')}  state {run.get('state')}"
        + (f"  error: {run['error']}" if run.get("error") else "")
    ]
    for key in sorted(k for k in items if k.startswith("unit#")):
        unit = items[key]
        outputs = orjson.loads(unit.get("outputs") or "{}")
        lines.append(
            f"  {key.removeprefix('unit#'):<28} {unit.get('state', '?'):<10} "
            f"attempts {unit.get('attempts', 0)}  records {outputs.get('records', '-')}  "
            f"written {outputs.get('written', '-')}  quarantined {outputs.get('quarantined', '-')}"
            + (f"  task {unit['task_arn']}" if unit.get("task_arn") else "")
            + (f"  error: {unit['error']}" if unit.get("error") else "")
        )
    return "\n".join(lines) + "\n"


def cmd_submit(args: argparse.Namespace) -> int:
    """The job as the job message `sluice jobs` would get: sent to `--queue`, or run the
    way that runner would run it (here, or as an ECS task)."""
    from batch_jobs.messages.dispatch import run_command
    from batch_jobs.messages.spec import JobSpec
    from consumer.aws.clients import AwsClients

    if args.part:
        parse_part(args.part)  # fail here, not in the task
    if args.parts is not None and (args.launch != "batch" or args.part or args.queue):
        raise ConfigError("--parts N is an AWS Batch array job: --launch batch, without --part")
    spec = JobSpec(
        job=args.job,
        params=parse_params(args.param),
        config=args.config,
        part=args.part,
        launch="inline" if args.launch == "inline" else "ecs",
        idempotency_key=args.idempotency_key or uuid.uuid4().hex,
    )
    aws = AwsClients()
    if args.queue:
        from consumer.sources.sqs.queues import queue_url

        sqs = aws.client("sqs")
        body = spec.model_dump(mode="json")
        sqs.send_message(
            QueueUrl=queue_url(sqs, args.queue), MessageBody=orjson.dumps(body).decode()
        )
        sys.stdout.write(orjson.dumps({"queued": args.queue, **body}).decode() + "\n")
        return 0
    command = run_command(spec, args.config)
    if args.launch == "batch":
        from consumer.cli import batch_launch

        return batch_launch.submit(args, aws, command)
    if args.launch == "inline":
        from consumer.cli.batch_run import add_run_arguments, run_job_command

        parser = argparse.ArgumentParser(prog="sluice batch run")
        add_run_arguments(parser)
        return run_job_command(parser.parse_args(command[2:]))
    arn = launcher_from(args, aws).run_task(command, started_by=f"sluice-{args.job}")
    sys.stdout.write(orjson.dumps({"task_arn": arn, "command": command}).decode() + "\n")
    return 0
