"""The per-record shortcuts give exactly what the plain code gives: the token scans, the
routing peek's memo, the partition prefix from a model's time, and the line-only fast path
of a route without a transform (the same items as the full path, for good records and bad)."""

from __future__ import annotations

import gzip
from datetime import UTC, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import TzInfo

from consumer.errors import RecordError
from consumer.flow import Item, Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder, _has
from consumer.pipeline.partitioning import PartitionConfig, Partitioner, to_datetime
from consumer.pipeline.process import Pipeline, _Validated
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from load_tests.reference import OrderEvent, events, order_route, order_row

# Bytes rich in what the scans look for, so that candidates, near misses and hits abound.
TOKEN_BYTES = st.binary(max_size=64) | st.lists(
    st.sampled_from([b"N", b"a", b"Na", b"NaN", b"aN", b"I", b"Infinit", b"Infinity", b'"']),
    max_size=30,
).map(b"".join)


@given(TOKEN_BYTES, st.sampled_from([b"NaN", b"Infinity"]))
def test_the_token_scan_finds_exactly_what_a_substring_search_finds(
    data: bytes, token: bytes
) -> None:
    assert _has(data, token) == (token in data)


def test_the_token_scan_past_its_candidates_still_finds_a_late_token() -> None:
    assert _has(b"N" * 20 + b"NaN", b"NaN")
    assert not _has(b"Nx" * 20 + b"Na", b"NaN")
    assert _has(b"In" * 9 + b"Infinity", b"Infinity")


def _old_prefix(value: Any, hourly: bool) -> str:
    """What `Partitioner.partition` computed before `time_prefix`, errors included."""
    try:
        moment = to_datetime(value)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise RecordError("transform", "BadPartitionValue", f"time_field 'ts': {exc}") from None
    prefix = f"dt={moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return prefix + f"/hr={moment.hour:02d}" if hourly else prefix


ZONES = [
    None,
    UTC,
    TzInfo(0),  # what pydantic gives a "Z" or "+00:00" time
    TzInfo(7200),
    timezone(timedelta(hours=-5, minutes=-30)),
    timezone(timedelta(hours=14)),
]


@given(
    st.datetimes(timezones=st.sampled_from(ZONES))
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.none()
    | st.booleans(),
    st.booleans(),
)
def test_the_time_prefix_is_the_old_partition_for_any_value(value: Any, hourly: bool) -> None:
    partitioner = Partitioner(
        PartitionConfig(time_field="ts", granularity="hour" if hourly else "day")
    )
    try:
        expected: str | tuple[str, str] = _old_prefix(value, hourly)
    except RecordError as error:
        expected = (error.error_type, error.message)
    try:
        got: str | tuple[str, str] = partitioner.time_prefix(value)
    except RecordError as error:
        got = (error.error_type, error.message)
    assert got == expected
    assert partitioner.partition({"ts": value}, 0.0) == expected if isinstance(got, str) else True


def test_the_peek_memo_answers_as_the_router_does_misses_included() -> None:
    route = Route(RouteConfig.model_validate(order_route()), 0)
    router = Router([route], "type")
    for _ in range(2):  # the second round comes from the memo
        assert router.peek("s", b'{"type": "order"}') == (route, "order")
        assert router.peek("s", b'{"type": "refund"}') is None
        assert router.peek("s", b'{"type": "\xff"}') is None
        assert router.peek("s", b'{"id": 1}') is None


def _order(**changes: Any) -> bytes:
    event = orjson.loads(events(1)[0])
    return orjson.dumps({**event, **changes})


def _tricky() -> list[bytes]:
    good = events(1)[0]
    event = orjson.loads(good)
    untyped = {k: v for k, v in event.items() if k != "type"}
    return [
        orjson.dumps({"meta": {"type": "order"}, **event}),  # a nested type first
        orjson.dumps({"meta": {"type": "order"}, **untyped}),  # and no top-level one
        _order(type="refund"),
        _order(occurred_at="soon"),
        _order(occurred_at="2026-11-22T13:05:00"),  # naive: read as UTC
        _order(occurred_at="2026-11-22T01:05:00+02:00"),  # the day before, in UTC
        _order(occurred_at="0001-01-01T00:30:00+01:00"),  # before year 1 in UTC
        _order(occurred_at=1_795_000_000),
        good.replace(b'"lat":52.52', b'"lat":NaN'),
        good[:-1] + b',"x":Infinity}',
        good[:-1] + b',"type":"refund"}',  # duplicate key: the last wins
        good[:-1] + b',"x":' + b"[" * 40 + b"]" * 40 + b"}",
        _order(notes="x" * 2000),  # past max_record_bytes below
        gzip.compress(good),
        good + b" trailing",
        b"\xff" + good,
        b"",
    ]


def _outcome(pipeline: Pipeline, data: bytes) -> tuple[bool, list[tuple[str, str, bytes, bytes]]]:
    record = Record("orders", "shardId-0", Position(1), "k", 1_795_000_000.0, data)
    items, quarantined = pipeline.process(record)
    return quarantined, [_comparable(item) for item in items]


def _comparable(item: Item) -> tuple[str, str, bytes, bytes]:
    row = dict(item.row)
    if row.pop("quarantined_at", None) is not None:  # the envelope's clock
        return item.route, item.output_partition, orjson.dumps(row), b""
    return item.route, item.output_partition, orjson.dumps(row), item.line


def test_the_line_only_fast_path_equals_the_full_path_on_good_and_bad_records() -> None:
    # GIVEN the reference route, writing lines only, through the fast path, through the
    # direct validation without it, and through the full path
    route = Route(RouteConfig.model_validate(order_route()), 0)
    router = Router([route], "type")
    decoder = Decoder(DecodeConfig(max_record_bytes=2048))
    fast = Pipeline(decoder, [route], router, None, {"orders"})
    direct = Pipeline(decoder, [route], router, None, {"orders"})
    direct._lines = {}
    full = Pipeline(decoder, [route], router, None, {"orders"})
    full._direct = set()
    taken = 0
    for data in events(300) + _tricky():
        # WHEN the same record goes through each, THEN the outcome is the same
        outcome = _outcome(fast, data)
        assert outcome == _outcome(direct, data) == _outcome(full, data), data[:100]
        record = Record("orders", "shardId-0", Position(1), "k", 0.0, data)
        taken += _whole_outcome(fast, record)
    # AND good records do take the fast path
    assert taken >= 300


def _whole_outcome(pipeline: Pipeline, record: Record) -> bool:
    """Whether the fast path gave the record's whole outcome (not only its model)."""
    found = pipeline._direct_step(record)
    return found is not None and not isinstance(found, _Validated)


def picky_rows(event: OrderEvent) -> list[dict[str, Any]]:
    """A transform with every outcome: an error, no row, one row, two rows."""
    if event.channel == "ios":
        raise ValueError(f"no ios orders yet: {event.event_id}")
    if event.coupon is None:
        return []
    row = order_row(event)
    return [row, {**row, "split": True}] if len(event.items) > 3 else [row]


@pytest.mark.parametrize("line_only", [True, False])
def test_the_transform_fast_path_equals_the_full_path_on_good_and_bad_records(
    line_only: bool,
) -> None:
    # GIVEN the reference route with an in-process transform (lines only, or rows kept as
    # a database sink needs them), through the fast path and through the full path
    spec = order_route(transform="tests.unit.test_fast_paths:picky_rows")
    route = Route(RouteConfig.model_validate(spec), 0)
    router = Router([route], "type")
    decoder = Decoder(DecodeConfig(max_record_bytes=2048))
    lines = {"orders"} if line_only else set()
    fast = Pipeline(decoder, [route], router, None, lines)
    full = Pipeline(decoder, [route], router, None, lines)
    full._direct = set()
    taken, outcomes = 0, set()
    for data in events(300) + _tricky():
        # WHEN the same record goes through each, THEN the outcome is the same
        outcome = _outcome(fast, data)
        assert outcome == _outcome(full, data), data[:100]
        outcomes.add((outcome[0], len(outcome[1])))
        record = Record("orders", "shardId-0", Position(1), "k", 0.0, data)
        taken += _whole_outcome(fast, record)
    # AND every kind of outcome was seen, and good records take the fast path
    assert outcomes == {(True, 1), (False, 0), (False, 1), (False, 2)}
    assert taken >= 300


def test_process_many_takes_the_fast_path_record_by_record_in_order() -> None:
    route = Route(RouteConfig.model_validate(order_route()), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"), None, {"orders"})
    data = [*events(3), _order(type="refund"), *events(2)]
    records = [Record("orders", "p", Position(i), "k", 0.0, d) for i, d in enumerate(data)]
    results = pipeline.process_many(records)
    assert [quarantined for _, quarantined in results] == [False] * 3 + [True] + [False] * 2
    each = [pipeline.process(record) for record in records]
    assert [[_comparable(i) for i in items] for items, _ in results] == [
        [_comparable(i) for i in items] for items, _ in each
    ]


@pytest.mark.parametrize(
    "data",
    [
        b'{"id": 1, "value": 2.5, "type": "reading"}',
        b'{"meta": {"type": "reading"}, "id": 1, "value": 2.5}',  # the model has a default
        b'{"type": "reading", "id": 1, "value": NaN}',
        b'{"type": "reading", "id": 1, "value": -Infinity}',
        b'{"type": "reading", "id": 1, "value": 2.5, "deep": ' + b"[" * 25 + b"]" * 25 + b"}",
    ],
)
def test_a_lenient_line_only_route_cannot_take_a_record_the_full_path_refuses(data: bytes) -> None:
    spec = {
        "name": "readings",
        "record_type": "reading",
        "schema": "tests.unit.test_direct_validation:Reading",
        "sinks": ["lake"],
    }
    route = Route(RouteConfig.model_validate(spec), 0)
    router = Router([route], "type")
    fast = Pipeline(Decoder(DecodeConfig(max_depth=20)), [route], router, None, {"readings"})
    full = Pipeline(Decoder(DecodeConfig(max_depth=20)), [route], router, None, {"readings"})
    full._direct = set()
    assert _outcome(fast, data) == _outcome(full, data)
