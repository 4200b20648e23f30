"""Replay a load profile against the ECS target-tracking rules sluice deploys.

The rules (targets, cooldowns, min/max tasks, the surge threshold, the container's stop
timeout) come from consumer/capacity/scaling_rules.json, which
tests/infra/test_scaling_rules.py proves equal to the defaults of
infra/terraform/modules/consumer_service. The model, one tick a second:

- a ready task processes up to `per_task_records_per_s` (the figure `make bench` measures,
  or one measured under load); a new task becomes ready `startup_s` after the scale-out;
- the policies Terraform creates (consumer/capacity/autoscale_sim_policy.py, one policy:
  autoscale_sim_alarms.py) see their metrics' datapoints, each at its own period, and set
  the service's desired count: target tracking on the backlog per task (SQS: visible
  messages / ready tasks; KCL: KinesisRecordsBehind of the ready tasks) every minute, on
  CPU (busy share of the ready tasks) and memory (scale-out only) every
  `utilization_resolution_s`, and the surge step policy on the backlog per task (10 s for
  Kinesis, 60 s for SQS); `legacy_scaling` runs the policies before issue 21;
- ECS starts and stops tasks towards the desired count, never stopping a protected task
  (consumer/capacity/autoscale_sim_tasks.py); `protection` says who holds it: none (a stream
  consumer, the default), stream (the legacy `[protection] stream = true`) or jobs (a
  `sluice jobs` runner while a job runs, on a `workload = "jobs"`: the profile's rate is
  then jobs per second, each job `job_duration_s` of one task);
- a stopped task drains: it flushes its cut within the shutdown and stop timeouts, or its
  records are delivered again later (consumer/capacity/autoscale_sim_work.py);
- Kinesis on the KCL path has at most one task per shard, and a stopped task's shards are
  read again only after their leases are taken over; the Kinesis polling reader is
  exactly one task;
- latency is the queueing estimate backlog / service rate plus the batch max age.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from consumer.capacity.autoscale_sim_alarms import SURGE_PERIOD_S, StepScaling, TargetTracking
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.autoscale_sim_policy import Policies
from consumer.capacity.autoscale_sim_tasks import Fleet, apply_protection
from consumer.capacity.autoscale_sim_work import JobWork, Ledger, StreamWork, Work
from consumer.capacity.cost import PRICES, Prices
from consumer.capacity.load_profiles import LoadProfile


@dataclass(frozen=True, slots=True)
class ScalingRules:
    min_tasks: int
    max_tasks: int
    backlog_per_task_target: float
    cpu_target_percent: float
    scale_in_cooldown_s: float
    scale_out_cooldown_s: float
    stop_timeout_s: float  # ECS stopTimeout: SIGTERM to SIGKILL
    memory_target_percent: float = 80.0
    backlog_surge_per_task: float = 60_000.0  # the surge step policy's alarm threshold
    utilization_resolution_s: int = 60  # CPU and memory datapoints: 60 s, or ECS's 20 s


def load_rules() -> ScalingRules:
    """The rules of consumer/capacity/scaling_rules.json (the Terraform module's defaults)."""
    text = resources.files("consumer.capacity").joinpath("scaling_rules.json").read_text("utf-8")
    raw = {k: v for k, v in json.loads(text).items() if not k.startswith("_")}
    return ScalingRules(**raw)


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    offered: float  # records/s arriving
    processed: float  # records/s processed
    backlog: float  # records waiting
    tasks: int  # ready tasks (not stopping)
    desired: int
    cpu_percent: float
    latency_s: float
    cost_usd: float  # cumulative task and shard cost
    running: int = 0  # tasks billed: starting, ready and draining
    protected: int = 0
    draining: int = 0


@dataclass
class SimResult:
    rules: ScalingRules
    config: SimConfig
    max_tasks: int
    samples: list[Sample] = field(default_factory=list)
    events: list[tuple[float, str, int, int]] = field(default_factory=list)  # t, dir, from, to
    causes: list[str] = field(default_factory=list)  # the policy behind each event
    ledger: Ledger = field(default_factory=Ledger)

    def scale_events(self, direction: str, after_s: float = 0.0) -> list[float]:
        return [t for t, d, _, _ in self.events if d == direction and t >= after_s]

    def scaled_in_at(self) -> float | None:
        """The first second, from the first scale-in request on, with no task running
        beyond the desired count (None: never; protected tasks held it up to the end)."""
        asked = self.scale_events("in")
        if not asked:
            return None
        return next((s.t for s in self.samples if s.t >= asked[0] and s.running <= s.desired), None)

    def task_hours(self) -> float:
        return sum(s.running for s in self.samples) / 3600

    def above_desired_task_hours(self) -> float:
        """Task time ECS ran beyond the desired count: protected tasks it could not stop,
        and stopping tasks draining."""
        return sum(max(s.running - s.desired, 0) for s in self.samples) / 3600

    def protected_share(self) -> float:
        """Protected task time over the running time of tasks not stopping."""
        ready = sum(s.tasks for s in self.samples)
        return sum(s.protected for s in self.samples) / ready if ready else 0.0


def cap(rules: ScalingRules, config: SimConfig) -> tuple[int, int]:
    """(min, max) tasks as the Terraform module computes them."""
    if config.source == "kinesis" and config.kinesis_driver == "polling":
        return 1, 1
    high = min(rules.max_tasks, config.shards) if config.source == "kinesis" else rules.max_tasks
    return rules.min_tasks, high


def policies(
    rules: ScalingRules, config: SimConfig, bounds: tuple[int, int], result: SimResult
) -> Policies:
    """The policies Terraform creates for this service (or those before issue 21)."""
    period = rules.utilization_resolution_s
    targets = [("cpu", TargetTracking("cpu", rules.cpu_target_percent, period))]
    backlog = config.source == "sqs" or not config.legacy_scaling
    if backlog:
        targets.insert(0, ("backlog", TargetTracking("backlog", rules.backlog_per_task_target)))
    surge = None
    if not config.legacy_scaling:
        memory = TargetTracking("memory", rules.memory_target_percent, period, scale_in=False)
        targets.append(("memory", memory))
        surge = StepScaling(
            rules.backlog_surge_per_task,
            SURGE_PERIOD_S[config.source],
            rules.scale_out_cooldown_s,
        )
    return Policies(
        targets,
        surge,
        (rules.scale_out_cooldown_s, rules.scale_in_cooldown_s),
        bounds,
        config.metric_delay_s,
        result.events,
        result.causes,
    )


def simulate(
    profile: LoadProfile,
    config: SimConfig | None = None,
    rules: ScalingRules | None = None,
    prices: Prices = PRICES,
    tail_s: float = 0.0,
) -> SimResult:
    config, rules = config or SimConfig(), rules or load_rules()
    if (config.protection == "jobs") != (config.workload == "jobs") and config.protection != "none":
        raise ValueError(f"protection {config.protection!r} does not fit a {config.workload} load")
    low, high = cap(rules, config)
    result = SimResult(rules, config, high)
    drain_cap_s = min(config.shutdown_timeout_s, rules.stop_timeout_s)
    work: Work = (JobWork if config.workload == "jobs" else StreamWork)(config, drain_cap_s)
    result.ledger = work.ledger
    task_hour = config.task_vcpu * prices.fargate_vcpu_hour
    task_hour += config.task_memory_gb * prices.fargate_gb_hour
    shard_hour = prices.kinesis_shard_hour if config.source == "kinesis" else 0.0
    scaling = policies(rules, config, (low, high), result)
    desired = max(low, min(high, config.initial_tasks or low))
    fleet = Fleet(config.startup_s, max(int(config.buffer_max_age_s), 1))
    fleet.start(desired, 0.0)
    cost = 0.0
    for second in range(int(profile.duration_s + tail_s)):
        t = float(second)
        for task in fleet.draining():
            work.drain(task, t)
        for task in fleet.exit(t):
            work.exited(task, t)
        workers = fleet.ready(t)
        offered = profile.rate_at(t)
        processed, busy_share = work.tick(t, offered, workers)
        for task in fleet.tasks:
            apply_protection(
                task, t, config.protection, config.idle_release_s, config.expires_in_minutes * 60
            )
        cost += len(fleet.tasks) * task_hour / 3600 + config.shards * shard_hour / 3600
        metrics = {
            "cpu": 100.0 * busy_share,
            "memory": config.memory_percent,
            "backlog": work.visible_backlog() / max(len(workers), 1),
        }
        desired, cpu_value = scaling.second(t, metrics, desired)
        result.samples.append(
            Sample(
                t,
                offered,
                processed,
                work.backlog(),
                len(workers),
                desired,
                cpu_value,
                work.latency_s(processed, offered, len(workers)),
                cost,
                len(fleet.tasks),
                fleet.protected(t),
                len(fleet.draining()),
            )
        )
        active = len(fleet.active())
        for task in fleet.reconcile(desired, t):
            work.stop(task, t + 1)  # SIGTERM lands at the end of this second
            work.release(1 / active, t + 1)  # its share of the leases
    work.ledger.lost = work.ledger.offered - work.ledger.done - work.held(fleet.tasks)
    return result
