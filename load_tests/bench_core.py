"""The pipeline core, one process, in memory, beside hand-written baselines.

The baseline is a hand-written loop doing the same parse, validation, user transform and
encoding with nothing else (no limits, no routing table, no partitions, no quarantine, no
buffers); the figures show what sluice's guarantees cost per record. sluice runs the
delivery engine (`load_tests/reader_loop.py`, batches of 500) into unbounded buffers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples" / "clickstream"))

from clickstream import PageView, Purchase, page_view_row, purchase_row  # noqa: E402
from clickstream_events import generate  # noqa: E402

from consumer.config import load_config  # noqa: E402
from consumer.flow import Cut, Position, Record  # noqa: E402
from consumer.pipeline.decode import Decoder  # noqa: E402
from consumer.pipeline.process import Pipeline  # noqa: E402
from consumer.pipeline.route import Route  # noqa: E402
from consumer.pipeline.router import Router  # noqa: E402
from load_tests.reader_loop import bench_engine, feed  # noqa: E402
from load_tests.timing import interleaved_us  # noqa: E402

RECORDS, BATCH = 20_000, 500
Models: dict[str, type[BaseModel]] = {"page_view": PageView, "purchase": Purchase}


def _records() -> list[Record]:
    events = generate(RECORDS, invalid_ratio=0.0, seed=1)
    valid = [e for e in events if e.expect.startswith("route:") and e.data[:1] == b"{"]
    now = time.time()
    return [
        Record("bench", "shardId-0", Position(i), e.key, now, e.data) for i, e in enumerate(valid)
    ]


def _decode_only(records: list[Record]) -> None:
    for r in records:
        orjson.loads(r.data)


def _decode_validate(records: list[Record]) -> None:
    for r in records:
        value = orjson.loads(r.data)
        Models[value["type"]].model_validate(value)


def _hand_written(records: list[Record]) -> None:
    out = []
    for r in records:
        value = orjson.loads(r.data)
        if value["type"] == "page_view":
            out.append(orjson.dumps(page_view_row(PageView.model_validate(value))))
        else:
            out.append(orjson.dumps(purchase_row(Purchase.model_validate(value))))


def _unexpected_cut(cut: Cut) -> None:
    raise AssertionError("the buffers are unbounded: one cut at the end")


def run() -> list[tuple[str, float]]:
    """(name, microseconds per record) pairs; the third is the baseline."""
    config = load_config(REPO / "examples/clickstream/pipeline.toml", env={})
    routes = [Route(r, i) for i, r in enumerate(config.routes)]
    pipeline = Pipeline(Decoder(config.decode), routes, Router(routes, "type"))
    unbounded = config.buffer.model_copy(
        update={"max_records": 10**9, "max_bytes": 10**12, "max_age_s": 10**9}
    )
    records = _records()

    def sluice_core() -> None:
        engine = bench_engine(pipeline, unbounded, _unexpected_cut, "bench")
        for start in range(0, len(records), BATCH):
            feed(engine, "shardId-0", records[start : start + BATCH])
        engine.batchers["shardId-0"].cut()

    return interleaved_us(
        [
            ("orjson.loads", lambda: _decode_only(records)),
            ("orjson.loads + pydantic validate", lambda: _decode_validate(records)),
            (
                "hand-written loop: loads+validate+transform+dumps (baseline)",
                lambda: _hand_written(records),
            ),
            ("sluice core: + limits, routing, partitions, quarantine, buffers", sluice_core),
        ],
        len(records),
        baseline=2,
    )
