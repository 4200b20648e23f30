"""Load profiles: a target rate (records/s) as a function of time, shared by the load
producers (load_tests/producers.py) and the autoscaling simulator
(consumer/capacity/autoscale_sim.py).

Every profile has a base rate, a duration and a shape: steady (the base rate), step (the
base rate times `factor` from `at_s` for `hold_s`, then back), ramp (linear from the base
rate to base times `factor` over the duration), spike (a short step of `hold_s`, default
10 % of the duration) and diurnal (one sine period over the duration between the base rate
and base times `factor`).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Shape = Literal["steady", "step", "ramp", "spike", "diurnal"]


class LoadProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    shape: Shape = "steady"
    rate: float = Field(gt=0, description="base rate, records per second")
    duration_s: float = Field(gt=0)
    factor: float = Field(10.0, gt=0, description="peak rate / base rate (not steady)")
    at_s: float | None = Field(None, ge=0, description="step or spike start (default 1/4)")
    hold_s: float | None = Field(None, gt=0, description="step or spike length")

    def start(self) -> float:
        return self.duration_s / 4 if self.at_s is None else self.at_s

    def hold(self) -> float:
        if self.hold_s is not None:
            return self.hold_s
        return self.duration_s / 10 if self.shape == "spike" else self.duration_s / 4

    def rate_at(self, t: float) -> float:
        """Target records/s at `t` seconds from the start (0 outside the duration)."""
        if t < 0 or t >= self.duration_s:
            return 0.0
        peak = self.rate * self.factor
        if self.shape in ("step", "spike"):
            return peak if self.start() <= t < self.start() + self.hold() else self.rate
        if self.shape == "ramp":
            return self.rate + (peak - self.rate) * t / self.duration_s
        if self.shape == "diurnal":
            phase = (1 - math.cos(2 * math.pi * t / self.duration_s)) / 2
            return self.rate + (peak - self.rate) * phase
        return self.rate
