"""`make bench`: every benchmark beside its baseline, measured in the same run.

Prints one table per group (absolute figures and the ratio to the group's baseline) and
writes them, with a description of the machine, to `bench-results/bench.json`.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from load_tests import bench_core, bench_postgres, bench_reference, bench_sqs

REPO = Path(__file__).resolve().parents[1]


def _group(
    group: str,
    title: str,
    rows: list[tuple[str, float]],
    unit: str,
    baseline_at: int,
    ratio: Callable[[float, float], float],
    ratio_name: str,
) -> list[dict[str, Any]]:
    """Print one table; `ratio(value, baseline)` is how the group reads against baseline."""
    if not rows:
        return []
    baseline = rows[baseline_at][1]
    per_second = unit == "us/rec"
    print(f"\n{title}")
    print(f"{'benchmark':<66} {unit:>8} {'per s':>10} {ratio_name:>10}")
    for name, value in rows:
        rate = 1e6 / value if per_second else value
        print(f"{name:<66} {value:>8.2f} {rate:>10.0f} {ratio(value, baseline):>10.2f}")
    return [
        {
            "group": group,
            "name": name,
            unit: value,
            "per_s": 1e6 / value if per_second else value,
            ratio_name: ratio(value, baseline),
        }
        for name, value in rows
    ]


def _times(value: float, base: float) -> float:
    """Times the baseline (a time: higher is slower; a rate: higher is faster)."""
    return value / base


def _share(value: float, base: float) -> float:
    """Share of the ceiling a time reaches (1.0: as fast as the ceiling)."""
    return base / value


def main() -> int:
    results = _group(
        "core",
        "pipeline core, clickstream events, median of 5, one process",
        bench_core.run(),
        "us/rec",
        2,
        _times,
        "x baseline",
    )
    results += _group(
        "reference",
        f"reference event (~1.2 KB), gzip level {bench_reference.LEVEL}, median of 5, one process",
        bench_reference.run(),
        "us/rec",
        0,
        _share,
        "of ceiling",
    )
    results += _group(
        "postgres",
        f"postgres sink, {bench_postgres.ROWS} rows inserted then "
        f"updated, batches of {bench_postgres.BATCH}",
        bench_postgres.run(),
        "rows/s",
        0,
        _times,
        "x baseline",
    )
    results += _group(
        "sqs",
        f"sqs on the embedded emulator, {bench_sqs.MESSAGES} messages",
        bench_sqs.run(),
        "msg/s",
        0,
        _times,
        "x baseline",
    )
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
    }
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    document = {"machine": machine, "results": results}
    (out / "bench.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"\nresults: {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
