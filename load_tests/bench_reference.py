"""The performance issue's reference event (about 1.2 KB, load_tests/reference.py) through
sluice's core, beside the raw ceiling loop: orjson.loads + model_validate + model_dump +
orjson.dumps, with the same gzip level on both sides, in the same run.

sluice runs the delivery engine (`load_tests/reader_loop.py`): `process_many` per batch of
500 records as GetRecords delivers them, buffers per output partition (hourly, from the
event's `occurred_at`), a cut whenever a buffer holds 500 records, one gzip object per
batch. The ceiling checks no limits, routes nothing, partitions nothing and keeps no
buffers; it gzips every 500 lines, with the stdlib's gzip (the baseline, as the first
round measured it) and with ISA-L, the library sluice's S3 sink uses
(consumer/sinks/gzipped.py), so the gain from the library shows apart."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import orjson

from consumer.delivery.buffer import BufferConfig
from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from consumer.sinks.gzipped import gzip_bytes
from load_tests.reader_loop import bench_engine, feed, gzip_writer
from load_tests.reference import OrderEvent, events, order_route
from load_tests.timing import interleaved_us

COUNT, BATCH, LEVEL = 20_000, 500, 1


def run() -> list[tuple[str, float]]:
    data = events(COUNT)
    route = Route(RouteConfig.model_validate(order_route()), 0)
    # S3 is the only sink, so the route writes lines only, as `assemble` decides
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"), None, {"orders"})
    records = [Record("s", "p", Position(i), "k", 0.0, d) for i, d in enumerate(data)]
    limits = BufferConfig(max_records=BATCH, max_bytes=50_000_000, max_age_s=60)
    newline = orjson.OPT_APPEND_NEWLINE

    def ceiling(compress: Callable[[bytes], bytes]) -> Callable[[], None]:
        def run() -> None:
            lines: list[bytes] = []
            for raw in data:
                lines.append(
                    orjson.dumps(
                        OrderEvent.model_validate(orjson.loads(raw)).model_dump(), option=newline
                    )
                )
                if len(lines) == BATCH:
                    compress(b"".join(lines))
                    lines = []

        return run

    write = gzip_writer(LEVEL)

    def sluice() -> None:
        engine = bench_engine(pipeline, limits, write, "s")
        for start in range(0, COUNT, BATCH):
            feed(engine, "p", records[start : start + BATCH])
        engine.flush("p")

    return interleaved_us(
        [
            (
                "reference event: raw ceiling loop + gzip (baseline)",
                ceiling(lambda body: gzip.compress(body, LEVEL)),
            ),
            (
                "reference event: raw ceiling loop + ISA-L gzip (sluice's library)",
                ceiling(lambda body: gzip_bytes(body, LEVEL)),
            ),
            ("reference event: sluice core + gzip JSON Lines", sluice),
        ],
        COUNT,
    )
