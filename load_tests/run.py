"""Load test runs that write reports (HTML with embedded PNGs, Markdown, JSON).

    python -m load_tests.run simulate --shape step --rate 1000 --factor 10 \\
        --source sqs --per-task-records-per-s 2000 --max-tasks 10 --out load-output
    python -m load_tests.run simulate --per-task-from-bench ...   # capacity from bench_core
    python -m load_tests.run simulate ... --protection stream     # the legacy protection
    python -m load_tests.run simulate --workload jobs --protection jobs --rate 0.001 ...
    python -m load_tests.run scenario --shape steady --rate 100 --duration-s 20 --out load-output

`scenario` runs against AWS_ENDPOINT_URL when it is set (LocalStack, or unset with real
credentials: pass --aws), otherwise it starts the embedded emulator.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from consumer.aws.clients import AwsClients
from consumer.capacity.autoscale_sim import load_rules, simulate
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.load_profiles import LoadProfile
from load_tests.report import Written, scenario_report, sim_report


def _profile(args: argparse.Namespace) -> LoadProfile:
    return LoadProfile(
        shape=args.shape,
        rate=args.rate,
        duration_s=args.duration_s,
        factor=args.factor,
        at_s=args.at_s,
        hold_s=args.hold_s,
    )


def bench_records_per_s() -> float:
    """One core's records/s through the pipeline core, measured now (load_tests/bench_core)."""
    from load_tests import bench_core

    micros = dict(bench_core.run())
    return 1e6 / micros["sluice core: + limits, routing, partitions, quarantine, buffers"]


def cmd_simulate(args: argparse.Namespace) -> Written:
    per_task = bench_records_per_s() if args.per_task_from_bench else args.per_task_records_per_s
    rules = load_rules()
    overrides = {
        "max_tasks": args.max_tasks,
        "backlog_per_task_target": args.backlog_per_task_target,
        "backlog_surge_per_task": args.backlog_surge_per_task,
        "utilization_resolution_s": args.utilization_resolution_s,
        "stop_timeout_s": args.stop_timeout_s,
    }
    rules = replace(rules, **{k: v for k, v in overrides.items() if v is not None})
    config = SimConfig(
        source=args.source,
        kinesis_driver=args.kinesis_driver,
        shards=args.shards,
        per_task_records_per_s=per_task,
        startup_s=args.startup_s,
        buffer_max_age_s=args.buffer_max_age_s,
        initial_tasks=args.initial_tasks,
        workload=args.workload,
        protection=args.protection,
        job_duration_s=args.job_duration_s,
        drain_flush_s=args.drain_flush_s,
        shutdown_timeout_s=args.shutdown_timeout_s,
        lease_takeover_s=args.lease_takeover_s,
        memory_percent=args.memory_percent,
        metric_delay_s=args.metric_delay_s,
        legacy_scaling=args.legacy_scaling,
    )
    return sim_report(simulate(_profile(args), config, rules, tail_s=args.tail_s), args.out)


@contextlib.contextmanager
def _endpoint(use_aws: bool) -> Iterator[str | None]:
    if use_aws or os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ.get("AWS_ENDPOINT_URL")
        return
    from consumer.local.emulator import embedded_emulator

    with embedded_emulator() as endpoint:
        yield endpoint


def cmd_scenario(args: argparse.Namespace) -> Written:
    from load_tests.scenario import run_scenario, scenario_config

    with _endpoint(args.aws) as endpoint, tempfile.TemporaryDirectory() as work:
        env = {
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "SLUICE_LOG_LEVEL": "WARNING",
        }
        if endpoint:
            env |= {"AWS_ENDPOINT_URL": endpoint}
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            os.environ.setdefault("AWS_REGION", "us-east-1")
        aws = AwsClients(region=os.environ.get("AWS_REGION"), endpoint_url=endpoint)
        raw = scenario_config(uuid.uuid4().hex[:8], args.source, args.buffer_max_age_s)
        result = run_scenario(raw, _profile(args), aws, env, Path(work))
    return scenario_report(result, args.out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m load_tests.run")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("simulate", "scenario"):
        sub = commands.add_parser(name)
        sub.add_argument(
            "--shape",
            default="step" if name == "simulate" else "steady",
            choices=["steady", "step", "ramp", "spike", "diurnal"],
        )
        sub.add_argument("--rate", type=float, default=1000 if name == "simulate" else 100)
        sub.add_argument("--duration-s", type=float, default=3600 if name == "simulate" else 20)
        sub.add_argument("--factor", type=float, default=10.0)
        sub.add_argument("--at-s", type=float)
        sub.add_argument("--hold-s", type=float)
        sub.add_argument(
            "--source",
            choices=["kinesis", "sqs"],
            default="sqs" if name == "simulate" else "kinesis",
        )
        sub.add_argument(
            "--buffer-max-age-s", type=float, default=5.0 if name == "simulate" else 1.0
        )
        sub.add_argument("--out", type=Path, default=Path("load-output"))
    simulate_args = commands.choices["simulate"]
    simulate_args.add_argument("--kinesis-driver", choices=["polling", "kcl"], default="kcl")
    simulate_args.add_argument("--shards", type=int, default=10)
    simulate_args.add_argument("--per-task-records-per-s", type=float, default=2000.0)
    simulate_args.add_argument("--per-task-from-bench", action="store_true")
    simulate_args.add_argument("--startup-s", type=float, default=60.0)
    simulate_args.add_argument("--max-tasks", type=int, help="override the Terraform default")
    simulate_args.add_argument(
        "--backlog-per-task-target", type=float, help="override the Terraform default"
    )
    simulate_args.add_argument(
        "--backlog-surge-per-task", type=float, help="override the Terraform default"
    )
    simulate_args.add_argument(
        "--utilization-resolution-s",
        type=int,
        choices=[20, 60],
        help="CPU and memory datapoints (override the Terraform default, 60)",
    )
    simulate_args.add_argument(
        "--stop-timeout-s", type=float, help="ECS stopTimeout; overrides the Terraform default"
    )
    simulate_args.add_argument(
        "--metric-delay-s",
        type=float,
        default=0.0,
        help="from a datapoint's period end to its alarm's evaluation (default 0)",
    )
    simulate_args.add_argument(
        "--lease-takeover-s",
        type=float,
        default=20.0,
        help="KCL: a stopped worker's SIGTERM to its shards read again (default 20)",
    )
    simulate_args.add_argument(
        "--memory-percent", type=float, default=30.0, help="a task's memory utilization"
    )
    simulate_args.add_argument(
        "--legacy-scaling",
        action="store_true",
        help="the policies before issue 21: Kinesis on CPU alone, no memory, no surge",
    )
    simulate_args.add_argument("--tail-s", type=float, default=0.0, help="run on with no load")
    simulate_args.add_argument("--initial-tasks", type=int, help="tasks at 0 s (default: min)")
    simulate_args.add_argument(
        "--protection",
        choices=["none", "stream", "jobs"],
        default="none",
        help="who holds scale-in protection: none (a stream consumer, the default), stream "
        "(the legacy [protection] stream = true), jobs (a `sluice jobs` runner while a job "
        "runs; needs --workload jobs)",
    )
    simulate_args.add_argument(
        "--workload",
        choices=["records", "jobs"],
        default="records",
        help="jobs: --rate is jobs per second, each --job-duration-s of one task",
    )
    simulate_args.add_argument("--job-duration-s", type=float, default=600.0)
    simulate_args.add_argument(
        "--drain-flush-s", type=float, default=1.0, help="a stopping task's final flush"
    )
    simulate_args.add_argument(
        "--shutdown-timeout-s", type=float, default=25.0, help="sluice's shutdown.timeout_s"
    )
    commands.choices["scenario"].add_argument(
        "--aws", action="store_true", help="use the AWS account of the environment"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    written = cmd_simulate(args) if args.command == "simulate" else cmd_scenario(args)
    sys.stdout.write(f"{written.html}\n{written.markdown}\n{written.json}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
