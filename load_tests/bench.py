"""`make bench`: every benchmark beside its baseline, measured in the same run.

Prints one table per group (absolute figures and the ratio to the group's baseline) and
writes them, with a description of the machine, to `bench-results/bench.json`. Name groups
to run only those, e.g. `python -m load_tests.bench reference powertools` (results in
`bench-results/bench-reference-powertools.json`).
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from load_tests import (
    bench_core,
    bench_external,
    bench_kcl,
    bench_kinesis,
    bench_lake,
    bench_memory,
    bench_postgres,
    bench_powertools,
    bench_reference,
    bench_sqs,
    bench_workers,
)
from load_tests.timing import ROUNDS

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
        rate_text = f"{rate:>10.0f}" if unit != "MB" else f"{'':>10}"
        print(f"{name:<66} {value:>8.2f} {rate_text} {ratio(value, baseline):>10.2f}")
    return [
        {
            "group": group,
            "name": name,
            unit: value,
            **({} if unit == "MB" else {"per_s": 1e6 / value if per_second else value}),
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


@dataclass(frozen=True)
class Group:
    key: str
    title: Callable[[], str]
    run: Callable[[], list[tuple[str, float]]]
    unit: str
    baseline_at: int
    ratio: Callable[[float, float], float]
    ratio_name: str


GROUPS = [
    Group(
        "core",
        lambda: f"pipeline core, clickstream events, interleaved median of {ROUNDS}, one process",
        bench_core.run,
        "us/rec",
        2,
        _times,
        "x baseline",
    ),
    Group(
        "reference",
        lambda: (
            f"reference event (~1.2 KB), gzip level {bench_reference.LEVEL}, interleaved "
            f"median of {ROUNDS}, one process"
        ),
        bench_reference.run,
        "us/rec",
        0,
        _share,
        "of ceiling",
    ),
    Group(
        "lake",
        lambda: (
            f"the lake's formats, reference event, {bench_lake.BATCH}-row objects "
            f"({bench_lake.ICEBERG_BATCH:,}-row Iceberg commits), interleaved median of {ROUNDS}"
        ),
        bench_lake.run,
        "us/rec",
        0,
        _share,
        "x JSONL speed",
    ),
    Group(
        "lake-bytes",
        lambda: "bytes stored per million reference events, by format (MB)",
        bench_lake.sizes,
        "MB",
        0,
        _times,
        "x JSONL",
    ),
    Group(
        "powertools",
        lambda: (
            "the Lambda peer: Powertools BatchProcessor, same events, model, transform and "
            f"partitions, gzip level {bench_powertools.LEVEL}"
        ),
        bench_powertools.run,
        "us/rec",
        0,
        _share,
        "speed-up",
    ),
    Group(
        "external",
        lambda: (
            "external transform (Node.js) beside the in-process one, reference events, "
            f"batches of {bench_external.BATCH}"
        ),
        bench_external.run,
        "us/rec",
        0,
        _times,
        "x baseline",
    ),
    Group(
        "kinesis",
        lambda: (
            f"kinesis GetRecords parsing, {bench_kinesis.RESPONSES} responses of "
            f"{bench_kinesis.RECORDS} reference events"
        ),
        bench_kinesis.run,
        "us/rec",
        0,
        _share,
        "speed-up",
    ),
    Group(
        "kcl",
        lambda: (
            f"KCL child on the multilang protocol, {bench_kcl.BATCHES} processRecords of "
            f"{bench_kcl.BATCH} reference events, one process; ratio: time over the sluice "
            "core's on the same events, route and sink (target: KCL row within 1.3)"
        ),
        bench_kcl.run,
        "us/rec",
        bench_kcl.CORE_AT,
        _times,
        "x core",
    ),
    *(
        Group(
            "postgres",  # one group name, a table per batch size, each with its baseline
            partial(bench_postgres.title, size),
            partial(bench_postgres.run, size),
            "rows/s",
            0,
            _times,
            "x baseline",
        )
        for size in bench_postgres.BATCHES
    ),
    Group(
        "sqs",
        lambda: f"sqs on the embedded emulator, {bench_sqs.MESSAGES} messages",
        bench_sqs.run,
        "msg/s",
        0,
        _times,
        "x baseline",
    ),
    Group(
        "workers",
        lambda: (
            f"sluice run's worker processes, polling reader over an in-process fake Kinesis "
            f"({bench_workers.SHARDS} shards), reference events, gzip JSON Lines, "
            f"{bench_workers.SECONDS:.0f} s a run, interleaved median of {ROUNDS}"
        ),
        bench_workers.run,
        "rec/s",
        0,
        _times,
        "x 1 worker",
    ),
    Group(
        "memory",
        lambda: (
            f"peak RSS of sluice run draining a {bench_memory.RECORDS:,}-record backlog, "
            "default buffers"
        ),
        bench_memory.run,
        "MB",
        0,
        _times,
        "x start-up",
    ),
]


def main(argv: list[str] | None = None) -> int:
    """All groups, or only those named: `python -m load_tests.bench reference powertools`."""
    names = sys.argv[1:] if argv is None else argv
    known = {group.key for group in GROUPS}
    if unknown := [name for name in names if name not in known]:
        print(f"unknown group(s) {', '.join(unknown)}; groups: {', '.join(sorted(known))}")
        return 2
    results: list[dict[str, Any]] = []
    for group in GROUPS:
        if not names or group.key in names:
            results += _group(
                group.key,
                group.title(),
                group.run(),
                group.unit,
                group.baseline_at,
                group.ratio,
                group.ratio_name,
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
    path = out / ("bench.json" if not names else f"bench-{'-'.join(names)}.json")
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
