"""`make bench`: every benchmark beside its baseline, measured in the same run.

Prints one table per group (absolute figures and the ratio to the group's baseline) and
writes them, with a description of the machine, to `bench-results/bench.json`.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import orjson

from load_tests import bench_core, bench_postgres, bench_reference, bench_sqs

REPO = Path(__file__).resolve().parents[1]


def _core() -> list[dict[str, Any]]:
    rows = bench_core.run()
    baseline = rows[2][1]
    print(f"pipeline core, clickstream records, median of {bench_core.REPEATS}, one process")
    print(f"{'benchmark':<66} {'us/rec':>8} {'rec/s':>10} {'x baseline':>10}")
    for name, us in rows:
        print(f"{name:<66} {us:>8.2f} {1e6 / us:>10.0f} {us / baseline:>10.2f}")
    return [
        {
            "group": "core",
            "name": name,
            "us_per_record": us,
            "records_per_s": 1e6 / us,
            "ratio_to_baseline": us / baseline,
        }
        for name, us in rows
    ]


def _reference() -> list[dict[str, Any]]:
    rows = bench_reference.run()
    baseline = rows[0][1]
    print(
        f"\nreference event (~1.2 KB), {bench_reference.COUNT} records, gzip level "
        f"{bench_reference.LEVEL}, median of {bench_reference.REPEATS}, one process"
    )
    print(f"{'benchmark':<66} {'us/rec':>8} {'rec/s':>10} {'of ceiling':>10}")
    for name, us in rows:
        print(f"{name:<66} {us:>8.2f} {1e6 / us:>10.0f} {baseline / us:>10.2f}")
    return [
        {
            "group": "reference",
            "name": name,
            "us_per_record": us,
            "records_per_s": 1e6 / us,
            "share_of_ceiling": baseline / us,
        }
        for name, us in rows
    ]


def _postgres() -> list[dict[str, Any]]:
    rows = bench_postgres.run()
    if not rows:
        return []
    baseline = rows[0][1]
    print(
        f"\npostgres sink, {bench_postgres.ROWS} rows inserted then updated, "
        f"batches of {bench_postgres.BATCH}"
    )
    print(f"{'benchmark':<66} {'rows/s':>10} {'x baseline':>10}")
    for name, rate in rows:
        print(f"{name:<66} {rate:>10.0f} {rate / baseline:>10.2f}")
    return [
        {
            "group": "postgres",
            "name": name,
            "rows_per_s": rate,
            "ratio_to_baseline": rate / baseline,
        }
        for name, rate in rows
    ]


def _sqs() -> list[dict[str, Any]]:
    rows = bench_sqs.run()
    baseline = rows[0][1]
    print(f"\nsqs on the embedded emulator, {bench_sqs.MESSAGES} messages, one process")
    print(f"{'benchmark':<66} {'msg/s':>10} {'x baseline':>10}")
    for name, rate in rows:
        print(f"{name:<66} {rate:>10.0f} {rate / baseline:>10.2f}")
    return [
        {"group": "sqs", "name": name, "messages_per_s": rate, "ratio_to_baseline": rate / baseline}
        for name, rate in rows
    ]


def main() -> int:
    results = _core() + _reference() + _postgres() + _sqs()
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
    print(f"results: {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
