"""Target tracking as Application Auto Scaling runs it, for the autoscaling simulator.

Each policy is the pair of CloudWatch alarms AWS creates for a target: scale out after
`OUT_DATAPOINTS` one-minute datapoints above the target, scale in after `IN_DATAPOINTS`
below `IN_THRESHOLD` of it; the capacity asked for is ceil(current x metric / target),
where current is the service's desired count (what Application Auto Scaling reads back,
whatever ECS could actually stop). Scale-out waits its cooldown after a scale-out,
scale-in its cooldown after any scaling, and scale-in happens only when every policy
agrees (the largest of their wishes wins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PERIOD_S = 60  # one CloudWatch datapoint a minute
OUT_DATAPOINTS = 3  # AWS target tracking: scale-out alarm, 3 of 3 minutes
IN_DATAPOINTS = 15  # AWS target tracking: scale-in alarm, 15 of 15 minutes
IN_THRESHOLD = 0.9  # the scale-in alarm fires below 90 % of the target


class Policy:
    """One target-tracking policy: its two alarms' counts of breaching datapoints."""

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


def decide(
    wishes: list[int | None],
    current: int,
    t: float,
    last_out: float,
    last_any: float,
    cooldowns: tuple[float, float],
) -> int | None:
    """The new desired count, or None to keep it; `cooldowns` is (scale-out, scale-in)."""
    out_cooldown, in_cooldown = cooldowns
    outs = [w for w in wishes if w is not None and w > current]
    if outs:
        return max(outs) if t - last_out >= out_cooldown else None
    ins = [w for w in wishes if w is not None and w < current]
    if len(ins) == len(wishes) and t - last_any >= in_cooldown:
        return max(ins)
    return None


@dataclass
class TargetTracking:
    """A service's policies (CPU, plus BacklogPerTask when `backlog_target` is set), fed a
    sample a second; every PERIOD_S they see a datapoint and may move the desired count
    within `bounds`. `events` records each move as (t, "out" or "in", from, to)."""

    cpu_target: float
    backlog_target: float | None
    cooldowns: tuple[float, float]  # (scale-out, scale-in)
    bounds: tuple[int, int]  # (min, max) tasks
    events: list[tuple[float, str, int, int]] = field(default_factory=list)
    _busy: float = 0.0
    _backlog: float = 0.0
    _seconds: int = 0
    _last_out: float = -math.inf
    _last_any: float = -math.inf

    def __post_init__(self) -> None:
        self._cpu = Policy(self.cpu_target)
        self._backlog_policy = None if self.backlog_target is None else Policy(self.backlog_target)

    def second(
        self, t: float, busy_share: float, backlog_per_task: float, desired: int
    ) -> tuple[int, float]:
        """Add second `t`'s sample: the desired count after it, and the CPU datapoint
        (percent; 0.0 in the seconds between datapoints)."""
        self._busy += busy_share
        self._backlog += backlog_per_task
        self._seconds += 1
        if self._seconds < PERIOD_S:
            return desired, 0.0
        cpu, backlog = 100.0 * self._busy / PERIOD_S, self._backlog / PERIOD_S
        self._busy = self._backlog = 0.0
        self._seconds = 0
        wishes = [_observe(self._cpu, cpu, desired)]
        if self._backlog_policy is not None:
            wishes.append(_observe(self._backlog_policy, backlog, desired))
        new = decide(wishes, desired, t, self._last_out, self._last_any, self.cooldowns)
        low, high = self.bounds
        new = max(low, min(high, new)) if new is not None else desired
        if new != desired:
            self.events.append((t, "out" if new > desired else "in", desired, new))
            self._last_any = t
            self._last_out = t if new > desired else self._last_out
        return new, cpu


def _observe(policy: Policy, value: float, current: int) -> int | None:
    policy.observe(value)
    return policy.wish(current, value)
