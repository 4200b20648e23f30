"""The consumer service's scaling policies together, as Application Auto Scaling combines
them, for the autoscaling simulator (each policy: consumer/capacity/autoscale_sim_alarms.py).

Fed one sample a second per metric (`cpu`, `memory` in percent; `backlog` per task), each
policy sees its metric's period average when the period closes, `delay_s` later (the time
CloudWatch takes to have the datapoint and evaluate the alarm). Then:

- scale out to the largest capacity any policy asks for: a target-tracking policy whose
  scale-out alarm is in ALARM (waiting the scale-out cooldown after a target-tracking
  scale-out), or the surge step policy (its own cooldown, see `StepScaling`);
- scale in only when every target-tracking policy that scales in is in its scale-in alarm,
  to the largest of their wishes, and only the scale-in cooldown after any scaling;
- always within `bounds`. Current capacity is the desired count (what Application Auto
  Scaling reads back, whatever ECS could actually stop).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from consumer.capacity.autoscale_sim_alarms import Average, StepScaling, TargetTracking


@dataclass
class Policies:
    """A service's target-tracking policies, each on a metric (`metric -> policy`), and an
    optional surge step policy on `backlog`. `events` records each move as
    (t, "out" or "in", from, to) and `causes` the policy behind it."""

    targets: Sequence[tuple[str, TargetTracking]]
    surge: StepScaling | None
    cooldowns: tuple[float, float]  # (scale-out, scale-in)
    bounds: tuple[int, int]  # (min, max) tasks
    delay_s: float = 0.0
    events: list[tuple[float, str, int, int]] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    _averages: list[Average] = field(default_factory=list)
    _surge_average: Average | None = None
    _pending: list[tuple[float, int, float]] = field(default_factory=list)  # (due, which, value)
    _last_out: float = -math.inf
    _last_any: float = -math.inf

    def __post_init__(self) -> None:
        self._averages = [Average(policy.period_s) for _, policy in self.targets]
        if self.surge is not None:
            self._surge_average = Average(self.surge.period_s)

    def second(self, t: float, values: Mapping[str, float], desired: int) -> tuple[int, float]:
        """Add second `t`'s samples: the desired count after it, and the CPU datapoint
        (percent) when one closed this second (else 0.0)."""
        cpu = 0.0
        pairs = zip(self.targets, self._averages, strict=True)
        for index, ((metric, _), average) in enumerate(pairs):
            value = average.add(values[metric])
            if value is not None:
                self._pending.append((t + self.delay_s, index, value))
                cpu = value if metric == "cpu" else cpu
        if self._surge_average is not None:
            value = self._surge_average.add(values["backlog"])
            if value is not None:
                self._pending.append((t + self.delay_s, -1, value))
        due = [item for item in self._pending if item[0] <= t]
        if not due:
            return desired, cpu
        self._pending = [item for item in self._pending if item[0] > t]
        return self._decide(t, due, desired), cpu

    def _decide(self, t: float, due: list[tuple[float, int, float]], desired: int) -> int:
        outs: list[tuple[int, str]] = []
        surge_value: float | None = None
        for _, index, value in due:
            if index < 0:
                surge_value = value
                continue
            policy = self.targets[index][1]
            policy.observe(value)
            if policy.wants_out() and t - self._last_out >= self.cooldowns[0]:
                outs.append((policy.wish(desired), policy.name))
        if surge_value is not None and self.surge is not None:
            wish = self.surge.wish(t, surge_value, desired)
            if wish is not None:
                outs.append((wish, "surge"))
        low, high = self.bounds
        wanted, cause = max(outs, default=(desired, ""))
        new = max(low, min(high, wanted))
        if new > desired:
            self._last_out = t if cause != "surge" else self._last_out
            return self._move(t, desired, new, cause)
        return self._scale_in(t, desired)

    def _scale_in(self, t: float, desired: int) -> int:
        voters = [policy for _, policy in self.targets if policy.scale_in]
        if not voters or not all(policy.wants_in() for policy in voters):
            return desired
        if t - self._last_any < self.cooldowns[1]:
            return desired
        new = max(self.bounds[0], *(policy.wish(desired) for policy in voters))
        return self._move(t, desired, new, "all") if new < desired else desired

    def _move(self, t: float, old: int, new: int, cause: str) -> int:
        self.events.append((t, "out" if new > old else "in", old, new))
        self.causes.append(cause)
        self._last_any = t
        return new
