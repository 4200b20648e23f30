"""What an estimate returns: its priced lines, the sizing behind them, its caveats."""

from __future__ import annotations

from dataclasses import dataclass, field

from consumer.capacity.cost.shape import Shape


@dataclass(frozen=True, slots=True)
class CostLine:
    """One billed item: the service, what is billed, how much of it, USD a month."""

    service: str
    item: str
    quantity: str
    usd_per_month: float


@dataclass(frozen=True, slots=True)
class CostEstimate:
    records_per_s: float
    record_bytes: int
    per_core_records_per_s: float
    shape: Shape
    tasks: int
    shards: int
    flushes_per_s: float
    lines: tuple[CostLine, ...]
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_usd_per_month(self) -> float:
        return sum(line.usd_per_month for line in self.lines)
