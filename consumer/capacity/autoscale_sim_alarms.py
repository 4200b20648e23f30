"""The scaling policies of the consumer service as Application Auto Scaling runs them, one
policy at a time, for the autoscaling simulator (consumer/capacity/autoscale_sim_policy.py
combines them).

- `TargetTracking`: the pair of CloudWatch alarms AWS creates for a target. Scale out
  after `OUT_DATAPOINTS` datapoints above the target, scale in after `IN_WINDOW_S` of
  datapoints below `IN_THRESHOLD` of it (15 one-minute datapoints; the same 15 minutes at
  a 20 s period); the capacity asked for is ceil(current x metric / target). A policy with
  `scale_in=False` (memory) only ever scales out and takes no part in scale-in.
- `StepScaling`: the backlog surge policy, a step scaling policy on an alarm of one
  datapoint: when the period's average backlog per task is at least `threshold`, the band
  the breach falls in (`SURGE_LADDER`, multiples of the threshold) sets the
  PercentChangeInCapacity. During its cooldown the capacity its last scale-out added
  counts as part of the next one (AWS adds only the difference), so a surge that grows
  moves to a higher band instead of compounding every period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

OUT_DATAPOINTS = 3  # AWS target tracking: scale-out alarm, 3 of 3 datapoints
IN_WINDOW_S = 900  # AWS target tracking: scale-in alarm, 15 minutes of datapoints
IN_THRESHOLD = 0.9  # the scale-in alarm fires below 90 % of the target
SURGE_LADDER: tuple[tuple[float, int], ...] = ((1.0, 100), (2.0, 300), (4.0, 700))
"""(backlog per task as a multiple of the surge threshold, percent of capacity added): at
1x double, at 2x four times, at 4x eight times. infra/terraform/modules/consumer_service
has the same steps (tests/infra/test_scaling_rules.py)."""
SURGE_PERIOD_S = {"kinesis": 10, "sqs": 60}
"""The surge alarm's period: sluice's own KinesisRecordsBehind is high resolution (10 s);
AWS/SQS publishes queue depth once a minute."""


class Average:
    """One metric as an alarm sees it: the average of a period's per-second samples."""

    def __init__(self, period_s: int) -> None:
        self.period_s, self._sum, self._count = period_s, 0.0, 0

    def add(self, value: float) -> float | None:
        """Add one second; the period's datapoint when this second closes it, else None."""
        self._sum += value
        self._count += 1
        if self._count < self.period_s:
            return None
        value, self._sum, self._count = self._sum / self._count, 0.0, 0
        return value


@dataclass
class TargetTracking:
    """One target-tracking policy: its two alarms' counts of breaching datapoints."""

    name: str
    target: float
    period_s: int = 60
    scale_in: bool = True
    high: int = 0
    low: int = 0
    value: float = 0.0

    def observe(self, value: float) -> None:
        self.value = value
        self.high = self.high + 1 if value > self.target else 0
        self.low = self.low + 1 if value < IN_THRESHOLD * self.target else 0

    def wants_out(self) -> bool:
        return self.high >= OUT_DATAPOINTS

    def wants_in(self) -> bool:
        return self.scale_in and self.low >= math.ceil(IN_WINDOW_S / self.period_s)

    def wish(self, current: int) -> int:
        """ceil(current x metric / target): what this policy asks for when it fires."""
        return math.ceil(current * self.value / self.target - 1e-9)


def percent_change(current: int, percent: int) -> int:
    """PercentChangeInCapacity as Application Auto Scaling applies it: the change rounded
    down, at least one task (MinAdjustmentMagnitude 1)."""
    return current + max(1, math.floor(current * percent / 100))


@dataclass
class StepScaling:
    """The backlog surge policy: one-datapoint alarm, steps of `SURGE_LADDER`."""

    threshold: float
    period_s: int
    cooldown_s: float
    _base: int = 0  # capacity before the scale-out that started the cooldown
    _until: float = -math.inf

    def percent(self, value: float) -> int | None:
        """The step's percent for a datapoint, or None below the threshold."""
        over = [percent for multiple, percent in SURGE_LADDER if value >= multiple * self.threshold]
        return over[-1] if over else None

    def wish(self, t: float, value: float, current: int) -> int | None:
        """The capacity the policy sets for this datapoint, or None when it does nothing."""
        percent = self.percent(value)
        if percent is None:
            return None
        if t < self._until:  # in cooldown: the last scale-out's tasks count towards this one
            wanted = percent_change(self._base, percent)
            return wanted if wanted > current else None
        self._base, self._until = current, t + self.cooldown_s
        return percent_change(current, percent)
