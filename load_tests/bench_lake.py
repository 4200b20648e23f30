"""The lake's formats on the reference event (about 1.2 KB, load_tests/reference.py), each
through sluice's core and what its sink does to a cut, interleaved in one run:

- gzip JSON Lines (the baseline): one gzip object per batch, as the S3 sink writes;
- Parquet, zstd and snappy: the route's line check (`LineCheck`), Arrow's conversion of
  the batch's lines and the Parquet encoding, as `format = "parquet"` writes;
- an Iceberg table in append mode: the Iceberg sink's `write_cut` with real commits to
  pyiceberg's SQL catalog (SQLite) and a local warehouse, with buffers of ICEBERG_BATCH
  rows (a commit a cut: tables want fewer, larger commits; docs/lake.md).

No PUT is made: the S3 formats stop at the object's bytes, as the JSON Lines baseline
does; Iceberg writes its files to local disk. `sizes` gives the bytes each format stores
per million records (Iceberg: data files and metadata).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consumer.aws.clients import AwsClients
from consumer.delivery.buffer import BufferConfig
from consumer.flow import Cut, Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from consumer.sinks.base import BuildContext, RowCheck
from consumer.sinks.columns.convert import parquet_bytes
from consumer.sinks.columns.route import bind_columns
from consumer.sinks.gzipped import gzip_bytes
from consumer.sinks.iceberg.config import IcebergSinkConfig
from consumer.sinks.iceberg.sink import IcebergSink
from load_tests.reader_loop import bench_engine, feed
from load_tests.reference import events, order_route
from load_tests.timing import interleaved_us

COUNT, BATCH, ICEBERG_BATCH, LEVEL = 20_000, 500, 5_000, 1


def _route() -> Route:
    return Route(RouteConfig.model_validate(order_route()), 0)


def _pipeline(route: Route, checks: list[RowCheck]) -> Pipeline:
    # S3 or the table is the only sink and its checks read lines: the route stays line-only
    router = Router([route], "type")
    return Pipeline(Decoder(DecodeConfig()), [route], router, {"orders": checks}, {"orders"})


class Formats:
    """One engine run per format over the same records; each writer keeps its sizes."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.data = events(COUNT)
        self.records = [Record("s", "p", Position(i), "k", 0.0, d) for i, d in enumerate(self.data)]
        self.route = _route()
        self.columns, check = bind_columns(self.route.shape(), "bench")
        self.checks: list[RowCheck] = [check] if check is not None else []
        self.sizes: dict[str, int] = {}
        self._runs = 0

    def run(self, write: Callable[[Cut], None], batch: int, checks: bool) -> None:
        pipeline = _pipeline(self.route, self.checks if checks else [])
        limits = BufferConfig(max_records=batch, max_bytes=50_000_000, max_age_s=3600)
        engine = bench_engine(pipeline, limits, write, "s")
        for start in range(0, COUNT, BATCH):
            feed(engine, "p", self.records[start : start + BATCH])
        engine.flush("p")

    def jsonl(self) -> None:
        total = 0

        def write(cut: Cut) -> None:
            nonlocal total
            for batch in cut.batches:
                total += len(gzip_bytes(b"".join(batch.lines), LEVEL))

        self.run(write, BATCH, checks=False)
        self.sizes["gzip JSON Lines"] = total

    def parquet(self, compression: Any) -> Callable[[], None]:
        def run() -> None:
            total = 0

            def write(cut: Cut) -> None:
                nonlocal total
                for batch in cut.batches:
                    table = self.columns.table(batch.lines)
                    total += len(parquet_bytes(table, compression))

            self.run(write, BATCH, checks=True)
            self.sizes[f"Parquet {compression}"] = total

        return run

    def iceberg(self) -> None:
        self._runs += 1
        root = self.work / f"iceberg-{self._runs}"
        config = IcebergSinkConfig.model_validate(
            {
                "type": "iceberg",
                "namespace": "bench",
                "catalog": {
                    "type": "sql",
                    "uri": f"sqlite:///{root / 'catalog.db'}",
                    "warehouse": str(root / "warehouse"),
                },
            }
        )
        root.mkdir(parents=True)
        sink = IcebergSink("bench", config, BuildContext(AwsClients(), root))
        sink.bind(self.route.shape())

        def write(cut: Cut) -> None:
            sink.write_cut(cut.batches)

        self.run(write, ICEBERG_BATCH, checks=True)
        sink.close()
        self.sizes["Iceberg (Parquet zstd data files + metadata)"] = sum(
            path.stat().st_size for path in (root / "warehouse").rglob("*") if path.is_file()
        )


def run() -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory(prefix="sluice-bench-lake-") as work:
        formats = Formats(Path(work))
        return interleaved_us(
            [
                ("reference event: sluice core + gzip JSON Lines (baseline)", formats.jsonl),
                ("reference event: sluice core + Parquet zstd", formats.parquet("zstd")),
                ("reference event: sluice core + Parquet snappy", formats.parquet("snappy")),
                (
                    f"reference event: sluice core + Iceberg append ({ICEBERG_BATCH:,}-row cuts, "
                    "SQLite catalog)",
                    formats.iceberg,
                ),
            ],
            COUNT,
        )


def sizes() -> list[tuple[str, float]]:
    """MB stored per million reference events, each format once over the same records."""
    with tempfile.TemporaryDirectory(prefix="sluice-bench-lake-") as work:
        formats = Formats(Path(work))
        formats.jsonl()
        formats.parquet("zstd")()
        formats.parquet("snappy")()
        formats.iceberg()
        scale = 1e6 / COUNT / 1e6
        return [(name, size * scale) for name, size in formats.sizes.items()]
