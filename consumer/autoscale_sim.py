"""Replay a load profile against the ECS target-tracking rules sluice deploys.

The rules (targets, cooldowns, min/max tasks) come from consumer/scaling_rules.json, which
tests/infra/test_scaling_rules.py proves equal to the defaults of
infra/terraform/modules/consumer_service. The model, one tick a second:

- a ready task processes up to `per_task_records_per_s` (the figure `make bench` measures,
  or one measured under load); a new task becomes ready `startup_s` after the scale-out;
- CloudWatch sees one datapoint a minute: average CPU (busy share of the ready tasks) and,
  for SQS, BacklogPerTask (visible messages / running tasks);
- each policy is a target-tracking pair of alarms as AWS creates them: scale out after
  3 datapoints above target, scale in after 15 below 90 % of it; the new capacity is
  ceil(current x metric / target); scale-out waits `scale_out_cooldown_s` after a
  scale-out, scale-in `scale_in_cooldown_s` after any scaling, and scales in only when
  every policy agrees (the largest of their wishes wins);
- SQS has both policies; Kinesis on the KCL path has CPU only and at most one task per
  shard; the Kinesis polling reader is exactly one task;
- latency is the queueing estimate backlog / service rate plus the batch max age.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

from consumer.cost import PRICES, Prices
from consumer.load_profiles import LoadProfile

PERIOD_S = 60  # one CloudWatch datapoint a minute
OUT_DATAPOINTS = 3  # AWS target tracking: scale-out alarm, 3 of 3 minutes
IN_DATAPOINTS = 15  # AWS target tracking: scale-in alarm, 15 of 15 minutes
IN_THRESHOLD = 0.9  # the scale-in alarm fires below 90 % of the target


@dataclass(frozen=True, slots=True)
class ScalingRules:
    min_tasks: int
    max_tasks: int
    backlog_per_task_target: float
    cpu_target_percent: float
    scale_in_cooldown_s: float
    scale_out_cooldown_s: float


def load_rules() -> ScalingRules:
    """The rules of consumer/scaling_rules.json (the Terraform module's defaults)."""
    text = resources.files("consumer").joinpath("scaling_rules.json").read_text("utf-8")
    raw = {k: v for k, v in json.loads(text).items() if not k.startswith("_")}
    return ScalingRules(**raw)


@dataclass(frozen=True, slots=True)
class SimConfig:
    source: Literal["sqs", "kinesis"] = "sqs"
    kinesis_driver: Literal["polling", "kcl"] = "kcl"
    shards: int = 1
    per_task_records_per_s: float = 2000.0
    startup_s: float = 60.0
    buffer_max_age_s: float = 5.0
    task_vcpu: float = 1.0
    task_memory_gb: float = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    offered: float  # records/s arriving
    processed: float  # records/s processed
    backlog: float  # records waiting
    tasks: int  # ready tasks
    desired: int
    cpu_percent: float
    latency_s: float
    cost_usd: float  # cumulative task and shard cost


@dataclass
class SimResult:
    rules: ScalingRules
    config: SimConfig
    max_tasks: int
    samples: list[Sample] = field(default_factory=list)
    events: list[tuple[float, str, int, int]] = field(default_factory=list)  # t, dir, from, to

    def scale_events(self, direction: str, after_s: float = 0.0) -> list[float]:
        return [t for t, d, _, _ in self.events if d == direction and t >= after_s]


def cap(rules: ScalingRules, config: SimConfig) -> tuple[int, int]:
    """(min, max) tasks as the Terraform module computes them."""
    if config.source == "kinesis" and config.kinesis_driver == "polling":
        return 1, 1
    high = min(rules.max_tasks, config.shards) if config.source == "kinesis" else rules.max_tasks
    return rules.min_tasks, high


class _Policy:
    def __init__(self, target: float) -> None:
        self.target, self.high, self.low = target, 0, 0

    def observe(self, value: float) -> None:
        self.high = self.high + 1 if value > self.target else 0
        self.low = self.low + 1 if value < IN_THRESHOLD * self.target else 0

    def wish(self, current: int, value: float) -> int | None:
        """The capacity this policy asks for now, or None when its alarms are quiet."""
        if self.high >= OUT_DATAPOINTS or self.low >= IN_DATAPOINTS:
            return math.ceil(current * value / self.target)
        return None


def simulate(
    profile: LoadProfile,
    config: SimConfig | None = None,
    rules: ScalingRules | None = None,
    prices: Prices = PRICES,
    tail_s: float = 0.0,
) -> SimResult:
    config, rules = config or SimConfig(), rules or load_rules()
    low, high = cap(rules, config)
    result = SimResult(rules, config, high)
    task_hour = config.task_vcpu * prices.fargate_vcpu_hour
    task_hour += config.task_memory_gb * prices.fargate_gb_hour
    shard_hour = prices.kinesis_shard_hour if config.source == "kinesis" else 0.0
    cpu = _Policy(rules.cpu_target_percent)
    backlog = _Policy(rules.backlog_per_task_target) if config.source == "sqs" else None
    starting: list[float] = []  # ready times of tasks still starting
    ready, desired = low, low
    queue = cost = busy = 0.0
    backlog_sum = 0.0
    last_out = last_any = -math.inf
    for second in range(int(profile.duration_s + tail_s)):
        t = float(second)
        ready += sum(1 for at in starting if at <= t)
        starting = [at for at in starting if at > t]
        offered = profile.rate_at(t)
        capacity = ready * config.per_task_records_per_s
        processed = min(queue + offered, capacity)
        queue += offered - processed
        busy += processed / capacity if capacity else 0.0
        backlog_sum += queue / max(ready, 1)
        cost += (ready + len(starting)) * task_hour / 3600 + config.shards * shard_hour / 3600
        service_rate = max(processed, offered, 1e-9)
        latency = queue / service_rate + config.buffer_max_age_s
        result.samples.append(
            Sample(t, offered, processed, queue, ready, desired, 0.0, latency, cost)
        )
        if (second + 1) % PERIOD_S:
            continue
        cpu_value = 100.0 * busy / PERIOD_S
        backlog_value = backlog_sum / PERIOD_S
        busy = backlog_sum = 0.0
        result.samples[-1] = Sample(
            t, offered, processed, queue, ready, desired, cpu_value, latency, cost
        )
        current = ready + len(starting)
        wishes = [cpu.wish(current, _observe(cpu, cpu_value))]
        if backlog is not None:
            wishes.append(backlog.wish(current, _observe(backlog, backlog_value)))
        new = _decide(wishes, current, t, last_out, last_any, rules)
        new = max(low, min(high, new)) if new is not None else current
        if new > current:
            starting += [t + config.startup_s] * (new - current)
            last_out = last_any = t
            result.events.append((t, "out", current, new))
        elif new < current:
            drop = current - new
            still = min(drop, len(starting))
            starting = starting[still:]
            ready -= drop - still
            last_any = t
            result.events.append((t, "in", current, new))
        desired = new
    return result


def _observe(policy: _Policy, value: float) -> float:
    policy.observe(value)
    return value


def _decide(
    wishes: list[int | None],
    current: int,
    t: float,
    last_out: float,
    last_any: float,
    rules: ScalingRules,
) -> int | None:
    outs = [w for w in wishes if w is not None and w > current]
    if outs:
        return max(outs) if t - last_out >= rules.scale_out_cooldown_s else None
    ins = [w for w in wishes if w is not None and w < current]
    if len(ins) == len(wishes) and t - last_any >= rules.scale_in_cooldown_s:
        return max(ins)
    return None
