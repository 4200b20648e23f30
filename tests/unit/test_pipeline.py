"""Pipeline.process: rows for good records, exactly one quarantine item for any bad one.

Every test runs twice: with the in-process Python transforms below and with the Node.js
external transform in examples/node-transform, which computes the same rows (issue 12).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.quarantine import QUARANTINE_ROUTE, original_bytes
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from tests.conftest import require

NODE_TRANSFORM = (
    Path(__file__).resolve().parents[2] / "examples" / "node-transform" / "transform.js"
)
# The error type of a transform that throws: the exception's class name in each language.
THROWN = {"python": "RuntimeError", "node": "Error"}
ARRIVAL = datetime(2026, 11, 22, 13, 5, tzinfo=UTC).timestamp()


class Order(BaseModel):
    type: str
    id: int
    ts: str
    region: str = "eu"
    payload: Any = None


class Click(BaseModel):
    type: str
    id: int
    fail_after: int | None = None


def order_rows(order: Order) -> dict[str, Any]:
    return {"id": order.id, "ts": order.ts, "region": order.region, "payload": order.payload}


def click_rows(click: Click) -> Iterator[dict[str, Any]]:
    for n in range(2):
        yield {"id": click.id, "n": n}
        if click.fail_after == n + 1:
            raise RuntimeError(f"failed after {n + 1} rows")


def _route(index: int, **config: Any) -> Route:
    return Route(RouteConfig.model_validate({"sinks": ["lake"], **config}), index)


def no_nul(row: dict[str, Any], line: bytes) -> str | None:
    return "NUL in a string" if b"\\u0000" in line else None


def _transform(kind: str, python: str) -> Any:
    if kind == "python":
        return f"{__name__}:{python}"
    return {"command": ["node", str(NODE_TRANSFORM)], "timeout_s": 10}


@pytest.fixture(params=["python", "node"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "node" and shutil.which("node") is None:
        require(False, "node is not installed: the external transform example needs it")
    return str(request.param)


@pytest.fixture()
def pipeline(kind: str) -> Iterator[Pipeline]:
    orders = _route(
        0,
        name="orders",
        record_type="order",
        schema=f"{__name__}:Order",
        transform=_transform(kind, "order_rows"),
        partition={"time_field": "ts", "granularity": "day", "fields": ["region"]},
    )
    clicks = _route(
        1,
        name="clicks",
        record_type="click",
        schema=f"{__name__}:Click",
        transform=_transform(kind, "click_rows"),
    )
    routes = [orders, clicks]
    decoder = Decoder(DecodeConfig(max_record_bytes=1000, max_depth=4))
    yield Pipeline(decoder, routes, Router(routes, "type"), row_checks={"orders": [no_nul]})
    for route in routes:
        if route.external is not None:
            assert route.external.restarts == 0  # the process stayed warm
            route.external.close()


MakeRecord = Callable[[bytes], Record]


@pytest.fixture()
def make_record() -> MakeRecord:
    def make(data: bytes) -> Record:
        return Record(
            "events", "shardId-000000000001", Position(123456789, 4), "pk-9", ARRIVAL, data
        )

    return make


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def test_valid_record_becomes_items_partitioned_by_its_route(
    pipeline: Pipeline, make_record: MakeRecord
) -> None:
    # GIVEN an order with an event time on another day than its arrival
    data = _json({"type": "order", "id": 1, "ts": "2026-01-02T03:04:05Z", "region": "us/west"})
    # WHEN processed
    items, quarantined = pipeline.process(make_record(data))
    # THEN one row, encoded as one JSON line, in the route's day partition
    assert not quarantined
    assert len(items) == 1
    item = items[0]
    assert item.route == "orders"
    assert item.output_partition == "dt=2026-01-02/region=us%2Fwest"
    assert item.row == {"id": 1, "ts": "2026-01-02T03:04:05Z", "region": "us/west", "payload": None}
    assert item.line.endswith(b"\n") and item.line.count(b"\n") == 1
    assert orjson.loads(item.line) == item.row


def test_a_record_with_many_rows_gives_an_item_per_row(
    pipeline: Pipeline, make_record: MakeRecord
) -> None:
    items, quarantined = pipeline.process(make_record(_json({"type": "click", "id": 5})))
    assert not quarantined
    assert [(i.route, i.output_partition, i.row) for i in items] == [
        ("clicks", "dt=2026-11-22/hr=13", {"id": 5, "n": 0}),
        ("clicks", "dt=2026-11-22/hr=13", {"id": 5, "n": 1}),
    ]
    assert [i.line for i in items] == [b'{"id":5,"n":0}\n', b'{"id":5,"n":1}\n']


ORDER = {"type": "order", "id": 1, "ts": "2026-01-02T03:04:05Z"}
CLICK = {"type": "click", "id": 2}
# case: (record bytes, "stage/error_type", route name in the envelope)
BAD_RECORDS: dict[str, tuple[bytes, str, str | None]] = {
    "too-large": (_json({**ORDER, "pad": "x" * 1000}), "decode/RecordTooLarge", None),
    "bad-json": (b'{"type": "order", ', "decode/InvalidJson", None),
    "bad-utf8": (b'{"type": "\xff"}', "decode/InvalidUtf8", None),
    "too-deep": (_json({**ORDER, "v": [[[[1]]]]}), "decode/NestingTooDeep", None),
    "no-route": (_json({"type": "refund", "id": 1}), "route/UnknownRoute", None),
    "schema": (_json({**ORDER, "id": "x"}), "validate/SchemaViolation", "orders"),
    "bad-time": (_json({**ORDER, "ts": "soon"}), "transform/BadPartitionValue", "orders"),
    "mid-transform": (_json({**CLICK, "fail_after": 2}), "transform/{thrown}", "clicks"),
    "unstorable": (_json({**ORDER, "payload": "a\u0000b"}), "load/UnstorableValue", "orders"),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_each_failure_is_exactly_one_quarantine_item(
    pipeline: Pipeline, make_record: MakeRecord, case: str, kind: str
) -> None:
    # GIVEN a record that fails at one stage
    data, failure, route = BAD_RECORDS[case]
    # WHEN processed
    items, quarantined = pipeline.process(make_record(data))
    # THEN it is one quarantine item with the error envelope and the exact original bytes
    assert quarantined
    assert len(items) == 1
    item = items[0]
    assert item.route == QUARANTINE_ROUTE
    assert item.output_partition == "dt=2026-11-22/hr=13"
    row = item.row
    expected = failure.format(thrown=THROWN[kind])
    assert (f"{row['stage']}/{row['error_type']}", row["route"]) == (expected, route)
    assert row["message"]
    assert original_bytes(row) == data
    assert row["source"] == "events"
    assert row["partition"] == "shardId-000000000001"
    assert (row["sequence_number"], row["sub_sequence_number"]) == ("123456789", 4)
    assert row["partition_key"] == "pk-9"
    assert row["arrival_time"] == "2026-11-22T13:05:00.000+00:00"
    assert orjson.loads(item.line) == row and item.line.endswith(b"\n")


def test_a_transform_failing_half_way_leaves_no_partial_rows(
    pipeline: Pipeline, make_record: MakeRecord
) -> None:
    # GIVEN a click whose transform yields two rows and then raises
    data = _json({"type": "click", "id": 3, "fail_after": 2})
    # WHEN processed
    items, quarantined = pipeline.process(make_record(data))
    # THEN only the quarantine item comes out
    assert quarantined
    assert [item.route for item in items] == [QUARANTINE_ROUTE]
    assert items[0].row["message"] == "failed after 2 rows"
