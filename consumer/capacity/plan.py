"""`sluice plan`: tasks, shards, queue settings, scaling targets and monthly cost for a
load, from the cost model (consumer/capacity/cost/) and the autoscaling simulator
(consumer/capacity/autoscale_sim.py) on the Terraform's scaling rules.

Sizing: the steady load sets the fewest tasks (min_tasks) and the monthly cost, line by
line as `sluice cost` prices it (the same deployment arguments: network, ECR, EFS,
Container Insights, the SQS ledger, which `--no-sqs-ledger` leaves out); the peak (rate x
--peak-factor) sets the most (max_tasks) and, for Kinesis on the KCL path, the shards (one
task per shard at most), which the cost includes. The backlog-per-task target (SQS
BacklogPerTask, KCL KinesisRecordsBehind per task) is the latency target times one task's
records per second (docs/metrics.md's rule); the surge threshold is 30 s of one task's
work, and at least twice the target. The buffer max age is a quarter of the latency
target (at most 60 s), so a batch leaves well within it. Then a step of --peak-factor x
the rate for 20 minutes is simulated on those rules and the policies Terraform creates,
and the plan reports the policies with their periods and alarms, when the first scale-out
came, how long the backlog took to drain and the worst latency it saw.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson

from consumer.capacity.autoscale_sim import SimResult, load_rules, simulate
from consumer.capacity.autoscale_sim_alarms import (
    IN_THRESHOLD,
    IN_WINDOW_S,
    OUT_DATAPOINTS,
    SURGE_LADDER,
    SURGE_PERIOD_S,
)
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.cost import (
    DEFAULT_PER_CORE_RECORDS_PER_S,
    CostLine,
    Shape,
    add_deployment_arguments,
    deployment_fields,
    estimate,
    table,
    tasks_for,
)
from consumer.capacity.load_profiles import LoadProfile

STEP_AT_S, STEP_HOLD_S, RUN_S = 600.0, 1200.0, 3600.0
SURGE_WORK_S = 30.0
"""The surge threshold is this much of one task's work: above what a task reads after a
KCL lease hand-over (failover and lease taker, about 20 to 30 s)."""
BACKLOG_PERIOD_S = 60  # Application Auto Scaling's period for customized metrics


@dataclass(frozen=True)
class Plan:
    rate: float
    record_bytes: int
    latency_target_s: float
    source: str
    min_tasks: int
    max_tasks: int
    shards: int
    buffer_max_age_s: float
    backlog_per_task_target: float
    cpu_target_percent: float
    memory_target_percent: float
    utilization_period_s: int
    backlog_surge_per_task: float
    surge_period_s: int
    scale_out_cooldown_s: float
    scale_in_cooldown_s: float
    sqs_visibility_timeout_s: int | None
    monthly_usd_steady: float
    cost_lines: tuple[CostLine, ...]
    peak_drain_s: float | None
    peak_max_latency_s: float
    peak_tasks: int
    peak_first_scale_out_s: float | None
    meets_latency_target: bool
    warnings: tuple[str, ...]


def _drain_s(result: SimResult) -> float | None:
    peak = max(result.samples, key=lambda s: s.backlog)
    if peak.backlog < 1:
        return 0.0
    drained = next((s.t for s in result.samples if s.t > peak.t and s.backlog < 1), None)
    return None if drained is None else drained - STEP_AT_S


def make_plan(args: argparse.Namespace) -> Plan:
    per_task, factor = args.per_task_records_per_s, args.peak_factor
    max_age = min(60.0, args.latency_target / 4)
    shape = Shape(
        source=args.source,
        kinesis_driver="kcl",
        buffer_max_records=args.buffer_max_records,
        buffer_max_age_s=max_age,
        **deployment_fields(args),
    )
    peak_tasks = tasks_for(args.rate * factor, per_task, shape)
    if args.source == "kinesis":
        shape = replace(shape, min_shards=peak_tasks)  # the peak's tasks each need a shard
    steady = estimate(args.rate, args.record_bytes, per_task, shape)
    shards = steady.shards
    target = round(args.latency_target * per_task)
    rules = replace(
        load_rules(),
        min_tasks=steady.tasks,
        max_tasks=max(steady.tasks, peak_tasks),
        backlog_per_task_target=target,
        backlog_surge_per_task=max(round(SURGE_WORK_S * per_task), 2 * target),
    )
    config = SimConfig(
        source=args.source,
        kinesis_driver="kcl",
        shards=max(shards, 1),
        per_task_records_per_s=per_task,
        startup_s=args.startup_s,
        buffer_max_age_s=max_age,
    )
    profile = LoadProfile(
        shape="step",
        rate=args.rate,
        factor=factor,
        at_s=STEP_AT_S,
        hold_s=STEP_HOLD_S,
        duration_s=RUN_S,
    )
    result = simulate(profile, config, rules)
    worst = max(s.latency_s for s in result.samples)
    drain = _drain_s(result)
    outs = result.scale_events("out", after_s=STEP_AT_S)
    warnings = list(steady.warnings)
    if worst > args.latency_target:
        warnings.append(
            f"a {factor:g}x step outruns the latency target ({worst:,.0f} s > "
            f"{args.latency_target:g} s) while tasks start: raise min_tasks or lower the "
            "targets"
        )
    return Plan(
        rate=args.rate,
        record_bytes=args.record_bytes,
        latency_target_s=args.latency_target,
        source=args.source,
        min_tasks=rules.min_tasks,
        max_tasks=rules.max_tasks,
        shards=shards,
        buffer_max_age_s=max_age,
        backlog_per_task_target=rules.backlog_per_task_target,
        cpu_target_percent=rules.cpu_target_percent,
        memory_target_percent=rules.memory_target_percent,
        utilization_period_s=rules.utilization_resolution_s,
        backlog_surge_per_task=rules.backlog_surge_per_task,
        surge_period_s=SURGE_PERIOD_S[args.source],
        scale_out_cooldown_s=rules.scale_out_cooldown_s,
        scale_in_cooldown_s=rules.scale_in_cooldown_s,
        sqs_visibility_timeout_s=(
            max(60, math.ceil(6 * max_age)) if args.source == "sqs" else None
        ),
        monthly_usd_steady=round(steady.total_usd_per_month, 2),
        cost_lines=tuple(
            replace(line, usd_per_month=round(line.usd_per_month, 2)) for line in steady.lines
        ),
        peak_drain_s=drain,
        peak_max_latency_s=round(worst, 1),
        peak_tasks=max(s.tasks for s in result.samples),
        peak_first_scale_out_s=outs[0] - STEP_AT_S if outs else None,
        meets_latency_target=worst <= args.latency_target,
        warnings=tuple(warnings),
    )


def policy_lines(plan: Plan) -> list[str]:
    """The scaling policies Terraform creates for the plan, with their periods and alarms."""
    backlog = (
        "BacklogPerTask (visible messages / running tasks)"
        if plan.source == "sqs"
        else "KinesisRecordsBehind per task (KCL)"
    )
    percents = "/".join(f"+{pct}" for _, pct in SURGE_LADDER)
    multiples = "/".join(f"{mult:g}x" for mult, _ in SURGE_LADDER)
    return [
        f"target tracking    {backlog} {plan.backlog_per_task_target:,.0f}, "
        f"{BACKLOG_PERIOD_S} s datapoints",
        f"                   CPU {plan.cpu_target_percent:g} %, memory "
        f"{plan.memory_target_percent:g} % (scale-out only), {plan.utilization_period_s} s "
        "datapoints",
        f"  their alarms     out after {OUT_DATAPOINTS} datapoints above target, in after "
        f"{IN_WINDOW_S // 60} min below {IN_THRESHOLD:.0%} of it, every policy agreeing",
        f"surge step policy  backlog per task >= {plan.backlog_surge_per_task:,.0f} in one "
        f"{plan.surge_period_s} s datapoint: {percents} % at {multiples}",
    ]


def render(plan: Plan) -> str:
    first = plan.peak_first_scale_out_s
    first_out = "no scale-out" if first is None else f"first scale-out {first:,.0f} s after it"
    if plan.peak_drain_s is None:
        drain = "backlog never drained"
    elif plan.peak_drain_s == 0:  # the tasks kept up: nothing queued to drain
        drain = "no backlog (the tasks keep up with it)"
    else:
        drain = f"backlog drained in {plan.peak_drain_s:,.0f} s"
    lines = [
        f"sluice plan: {plan.rate:,.0f} records/s x {plan.record_bytes:,} bytes from "
        f"{plan.source}, latency target {plan.latency_target_s:g} s",
        "",
        f"tasks              min {plan.min_tasks}, max {plan.max_tasks} (1 vCPU / 2 GB)",
    ]
    if plan.source == "kinesis":
        lines.append(f"shards             {plan.shards} (KCL path: one task per shard at most)")
    else:
        lines.append(f"queue              visibility_timeout_s {plan.sqs_visibility_timeout_s}")
    lines += [
        f"buffer             max_age_s {plan.buffer_max_age_s:g}",
        *policy_lines(plan),
        f"cooldowns          scale-out {plan.scale_out_cooldown_s:g} s, "
        f"scale-in {plan.scale_in_cooldown_s:g} s",
        f"simulated step     {first_out}, peak {plan.peak_tasks} tasks, {drain}, "
        f"worst latency {plan.peak_max_latency_s:,.1f} s",
        f"monthly cost       {plan.monthly_usd_steady:,.2f} USD at the steady rate"
        f"{', with the shards above' if plan.source == 'kinesis' else ''}:",
        "",
        *table(plan.cost_lines, plan.monthly_usd_steady),
    ]
    if plan.warnings:
        lines += ["", *(f"  ! {text}" for text in plan.warnings)]
    return "\n".join(lines)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The arguments of `sluice plan`."""
    parser.add_argument("--rate", type=float, required=True, help="steady records per second")
    parser.add_argument("--record-bytes", type=int, required=True, help="average record size")
    parser.add_argument(
        "--latency-target", type=float, default=60.0, help="seconds (default: %(default)g)"
    )
    parser.add_argument(
        "--source",
        choices=["kinesis", "sqs"],
        default="kinesis",
        help="default: %(default)s, as for sluice cost",
    )
    parser.add_argument(
        "--per-task-records-per-s",
        type=float,
        default=DEFAULT_PER_CORE_RECORDS_PER_S,
        help="one task's measured throughput (default: %(default)g, make bench; "
        "measure yours with sinks under load)",
    )
    parser.add_argument("--peak-factor", type=float, default=10.0, help="peak / steady rate")
    parser.add_argument("--startup-s", type=float, default=60.0, help="task start-up delay")
    parser.add_argument(
        "--buffer-max-records",
        type=int,
        default=Shape().buffer_max_records,
        help="records a buffer flushes at: objects, cuts and (SQS) ledger writes "
        "(default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_deployment_arguments(parser)


def run(args: argparse.Namespace) -> str:
    plan = make_plan(args)
    if args.json:
        data: dict[str, Any] = asdict(plan)
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    return render(plan)
