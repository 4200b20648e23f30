"""`make bench`: the pipeline core, one process, in memory, beside its baselines.

Each figure is measured in the same run as its baselines and printed as microseconds per
record, records per second and the ratio to the baseline: a hand-written loop doing the
same parse, validation, user transform and encoding with nothing else (no limits, no
routing table, no partitions, no quarantine, no buffers). Results also go to
`bench-results/bench.json` with a description of the machine.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples" / "clickstream"))

from clickstream import PageView, Purchase, page_view_row, purchase_row  # noqa: E402
from clickstream_events import generate  # noqa: E402

from consumer.batcher import PartitionBatcher  # noqa: E402
from consumer.config import load_config  # noqa: E402
from consumer.decode import Decoder  # noqa: E402
from consumer.pipeline import Pipeline  # noqa: E402
from consumer.record import Position, Record  # noqa: E402
from consumer.route import Route  # noqa: E402
from consumer.routing import Router  # noqa: E402

RECORDS = 20_000
REPEATS = 5


def _records() -> list[Record]:
    events = generate(RECORDS, invalid_ratio=0.0, seed=1)
    events = [e for e in events if e.expect.startswith("route:") and e.data[:1] == b"{"]
    return [
        Record("bench", "shardId-0", Position(i), e.key, time.time(), e.data)
        for i, e in enumerate(events)
    ]


def _time(run: Callable[[], object], count: int) -> float:
    """Median microseconds per record over REPEATS runs."""
    samples = []
    for _ in range(REPEATS):
        gc.collect()
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def main() -> int:
    config = load_config(REPO / "examples/clickstream/pipeline.toml", env={})
    routes = [Route(r, i) for i, r in enumerate(config.routes)]
    pipeline = Pipeline(Decoder(config.decode), routes, Router(routes, "type"))
    records = _records()
    models = {"page_view": PageView, "purchase": Purchase}
    big = config.buffer.model_copy(update={"max_records": 10**9, "max_bytes": 10**12})

    def decode_only() -> None:
        for r in records:
            orjson.loads(r.data)

    def decode_validate() -> None:
        for r in records:
            value = orjson.loads(r.data)
            models[value["type"]].model_validate(value)

    def hand_written() -> None:
        out = []
        for r in records:
            value = orjson.loads(r.data)
            kind = value["type"]
            model = models[kind].model_validate(value)
            row = page_view_row(model) if kind == "page_view" else purchase_row(model)  # type: ignore[arg-type]
            out.append(orjson.dumps(row))

    def sluice_core() -> None:
        batcher = PartitionBatcher("bench", "shardId-0", big)
        for r in records:
            items, quarantined = pipeline.process(r)
            batcher.add(r.position, items, quarantined)
        batcher.cut()

    n = len(records)
    rows = [
        ("orjson.loads", _time(decode_only, n)),
        ("orjson.loads + pydantic validate", _time(decode_validate, n)),
        ("hand-written loop: loads+validate+transform+dumps (baseline)", _time(hand_written, n)),
        ("sluice core: + limits, routing, partitions, quarantine, buffers", _time(sluice_core, n)),
    ]
    baseline = rows[2][1]
    print(f"pipeline core, {n} clickstream records, median of {REPEATS}, one process")
    print(f"{'benchmark':<66} {'us/rec':>8} {'rec/s':>10} {'x baseline':>10}")
    for name, us in rows:
        print(f"{name:<66} {us:>8.2f} {1e6 / us:>10.0f} {us / baseline:>10.2f}")
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
    }
    results = [
        {
            "name": name,
            "us_per_record": us,
            "records_per_s": 1e6 / us,
            "ratio_to_baseline": us / baseline,
        }
        for name, us in rows
    ]
    (out / "bench.json").write_bytes(
        orjson.dumps({"machine": machine, "results": results}, option=orjson.OPT_INDENT_2)
    )
    print(f"results: {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
