"""One way to time every benchmark: the candidates of a group run interleaved.

Each round runs every candidate once, in turn, so a neighbour's load on this shared machine
falls on all of them alike; the figure per candidate is its median over the rounds, in
microseconds per record. Ratios between candidates of one group are therefore read from
the same moments, not from runs seconds apart.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

ROUNDS = 7


def interleaved_us(
    candidates: Sequence[tuple[str, Callable[[], object]]], count: int, rounds: int = ROUNDS
) -> list[tuple[str, float]]:
    """(name, median µs per record) for each candidate, `count` records per call."""
    samples: dict[str, list[float]] = {name: [] for name, _ in candidates}
    for run in (run for _, run in candidates):
        run()  # warm up: imports, caches, first allocations
    for _ in range(rounds):
        for name, run in candidates:
            gc.collect()
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) / count * 1e6)
    return [(name, statistics.median(samples[name])) for name, _ in candidates]
