"""A transform as an external command (Node.js) beside the same transform in process.

Both run the reference route through `Pipeline.process_many` in batches of 500 records,
as the readers call it: in process, `order_row` (the model dumped to a row); external, a
Node.js command that answers each record with itself as its row
(`load_tests/identity_transform.js`), so the difference is the protocol's cost (JSON lines
both ways through pipes, and the rows parsed back in sluice).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from load_tests.reference import events, order_route
from load_tests.timing import interleaved_us

COUNT, BATCH = 10_000, 500
SCRIPT = Path(__file__).resolve().parent / "identity_transform.js"


def _runner(pipeline: Pipeline, records: list[Record]) -> Callable[[], None]:
    def run() -> None:
        for start in range(0, len(records), BATCH):
            for _, quarantined in pipeline.process_many(records[start : start + BATCH]):
                assert not quarantined

    return run


def run() -> list[tuple[str, float]]:
    if shutil.which("node") is None:
        print("external group skipped: node is not installed")
        return []
    records = [Record("s", "p", Position(i), "k", 0.0, d) for i, d in enumerate(events(COUNT))]
    pipelines = {}
    for name, transform in (
        ("python", "load_tests.reference:order_row"),
        ("node", {"command": ["node", str(SCRIPT)]}),
    ):
        route = Route(RouteConfig.model_validate(order_route(transform=transform)), 0)
        pipelines[name] = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"))
    try:
        return interleaved_us(
            [
                ("transform in process (baseline)", _runner(pipelines["python"], records)),
                (
                    "transform as a Node.js command, batches of 500",
                    _runner(pipelines["node"], records),
                ),
            ],
            COUNT,
            rounds=5,
        )
    finally:
        for pipeline in pipelines.values():
            pipeline.close()
