"""The performance issue's reference event (about 1.2 KB, load_tests/reference.py) through
sluice's core, beside the raw ceiling loop: orjson.loads + model_validate + model_dump +
orjson.dumps, with the same gzip level on both sides, in the same run."""

from __future__ import annotations

import gc
import gzip
import statistics
import time
from collections.abc import Callable

import orjson

from consumer.batcher import PartitionBatcher
from consumer.decode import DecodeConfig, Decoder
from consumer.pipeline import Pipeline
from consumer.record import Position, Record
from consumer.route import BufferConfig, Route, RouteConfig
from consumer.routing import Router
from load_tests.reference import OrderEvent, events

COUNT, REPEATS, BATCH, LEVEL = 20_000, 5, 500, 1


def _median_us(run: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEATS):
        gc.collect()
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) / COUNT * 1e6)
    return statistics.median(samples)


def run() -> list[tuple[str, float]]:
    data = events(COUNT)
    spec = {
        "name": "orders",
        "record_type": "order",
        "sinks": ["lake"],
        "schema": "load_tests.reference:OrderEvent",
        "partition": {"time_field": "occurred_at"},
    }
    route = Route(RouteConfig.model_validate(spec), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"))
    records = [Record("s", "p", Position(i), "k", 0.0, d) for i, d in enumerate(data)]
    limits = BufferConfig(max_records=BATCH, max_bytes=50_000_000, max_age_s=60)
    newline = orjson.OPT_APPEND_NEWLINE

    def ceiling() -> None:
        lines: list[bytes] = []
        for raw in data:
            lines.append(
                orjson.dumps(
                    OrderEvent.model_validate(orjson.loads(raw)).model_dump(), option=newline
                )
            )
            if len(lines) == BATCH:
                gzip.compress(b"".join(lines), LEVEL)
                lines = []

    def sluice() -> None:
        batcher = PartitionBatcher("s", "p", limits)
        for record in records:
            items, quarantined = pipeline.process(record)
            batcher.add(record.position, items, quarantined)
            if batcher.full:
                for batch in batcher.cut().batches:
                    gzip.compress(b"".join(batch.lines), LEVEL)

    return [
        ("reference event: raw ceiling loop + gzip (baseline)", _median_us(ceiling)),
        ("reference event: sluice core + gzip JSON Lines", _median_us(sluice)),
    ]
