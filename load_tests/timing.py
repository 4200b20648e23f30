"""One way to time every benchmark: the candidates of a group run interleaved.

Each round runs every candidate once, in turn, so a neighbour's load on this shared machine
falls on all of them alike. The baseline's figure is its median over the rounds, in
microseconds per record; every other candidate's figure is the baseline's median times the
median of its ratios to the baseline *within* a round. On a machine whose speed drifts by
tens of percent over seconds, a ratio of two medians may pair a slow round with a fast one;
the median of same-round ratios does not, so the ratios a group prints are what the
candidates did side by side.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

ROUNDS = 7


def interleaved_us(
    candidates: Sequence[tuple[str, Callable[[], object]]],
    count: int,
    rounds: int = ROUNDS,
    baseline: int = 0,
) -> list[tuple[str, float]]:
    """(name, µs per record) for each candidate, `count` records per call; candidate
    `baseline` is the one the others are read against (see the module docstring)."""
    samples: dict[str, list[float]] = {name: [] for name, _ in candidates}
    for run in (run for _, run in candidates):
        run()  # warm up: imports, caches, first allocations
    for _ in range(rounds):
        for name, run in candidates:
            gc.collect()
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) / count * 1e6)
    base = samples[candidates[baseline][0]]
    middle = statistics.median(base)
    return [
        (name, middle * statistics.median(t / b for t, b in zip(samples[name], base, strict=True)))
        for name, _ in candidates
    ]
