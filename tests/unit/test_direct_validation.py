"""The fast path (validate straight from the record's bytes) gives exactly what the full
path (decode, route, validate) gives, for good records and every kind of bad one."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from pydantic import BaseModel

from consumer.config import load_config
from consumer.flow import Item, Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clickstream" / "pipeline.toml"


def _pipelines() -> tuple[Pipeline, Pipeline]:
    config = load_config(EXAMPLE)
    routes = [Route(route, index) for index, route in enumerate(config.routes)]
    router = Router(routes, config.router.type_field)
    fast = Pipeline(Decoder(config.decode), routes, router)
    full = Pipeline(Decoder(config.decode), routes, router)
    full._direct = set()
    return fast, full


def _view(**changes: object) -> dict[str, object]:
    from clickstream_events import _page_view  # examples/clickstream, on the path

    event = _page_view(random.Random(5), "k", datetime(2026, 11, 22, 10, tzinfo=UTC))
    return {**event, **changes}


def _tricky() -> list[bytes]:
    view = _view()
    without_type = {k: v for k, v in view.items() if k != "type"}
    return [
        # a nested "type" before the top-level one: the peek guesses wrong, the check catches it
        orjson.dumps({"meta": {"type": "purchase"}, **view}),
        # no top-level type at all, a nested one that names a route: must be UnknownRoute
        orjson.dumps({"meta": {"type": "page_view"}, **without_type}),
        orjson.dumps({**view, "type": "add_to_cart"}),
        orjson.dumps({**view, "type": 7}),
        b'{"type" : "page_view", ' + orjson.dumps(without_type)[1:],
        b'{"type":"page_\\u0076iew", ' + orjson.dumps(without_type)[1:],
        orjson.dumps(view).replace(b'"k"', b"NaN", 1),
        orjson.dumps(view)[:-1] + b', "extra": Infinity}',
        orjson.dumps(view) + b" trailing",
        orjson.dumps(view).replace(b"page_view", b"page_view\\ud800"),
        orjson.dumps(view)[:-1] + b', "big": 123456789012345678901234567890}',
        orjson.dumps(view)[:-1] + b', "type": "purchase"}',  # duplicate key: the last wins
        b"[" + orjson.dumps(view) + b"]",
        b"\xff" + orjson.dumps(view),
        b"",
    ]


def _outcome(pipeline: Pipeline, data: bytes) -> tuple[bool, list[tuple[str, str, bytes]]]:
    record = Record("clickstream", "shardId-0", Position(1), "k", 1_795_000_000.0, data)
    items, quarantined = pipeline.process(record)
    return quarantined, [_comparable(item) for item in items]


def _comparable(item: Item) -> tuple[str, str, bytes]:
    row = dict(item.row)
    row.pop("quarantined_at", None)  # the envelope's clock
    return item.route, item.output_partition, orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


def test_the_fast_path_equals_the_full_path_on_the_demo_events_and_tricky_ones() -> None:
    fast, full = _pipelines()  # puts examples/clickstream on the path
    from clickstream_events import generate

    inputs = [event.data for event in generate(1500, invalid_ratio=0.2)] + _tricky()
    taken = 0
    for data in inputs:
        assert _outcome(fast, data) == _outcome(full, data), data[:200]
        taken += fast._validate_direct(data, "clickstream") is not None
    # AND the fast path is what good records actually take
    assert taken >= 1000


@pytest.mark.parametrize(
    ("data", "stage"),
    [
        (orjson.dumps({"meta": {"type": "page_view"}, "id": 1}), "route"),
        (b'{"type": "page_view", "x": NaN}', "decode"),
        (b'{"type": "page_view"} trailing', "decode"),
    ],
)
def test_what_the_fast_path_refuses_is_quarantined_with_the_full_paths_stage(
    data: bytes, stage: str
) -> None:
    fast, _ = _pipelines()
    assert fast._validate_direct(data, "clickstream") is None
    quarantined, items = _outcome(fast, data)
    assert quarantined and orjson.loads(items[0][2])["stage"] == stage


class Reading(BaseModel):
    """Lenient on purpose: a default type, floats, extra fields ignored."""

    type: str = "reading"
    id: int
    value: float


@pytest.mark.parametrize(
    "data",
    [
        b'{"id": 1, "value": 2.5, "type": "reading"}',
        # no top-level type; a nested one names the route and the model has a default
        b'{"meta": {"type": "reading"}, "id": 1, "value": 2.5}',
        # NaN and Infinity: orjson refuses them, pydantic's JSON parser would not
        b'{"type": "reading", "id": 1, "value": NaN}',
        b'{"type": "reading", "id": 1, "value": -Infinity}',
        b'{"type": "reading", "id": 1, "value": 2.5, "deep": ' + b"[" * 25 + b"]" * 25 + b"}",
    ],
)
def test_a_lenient_model_cannot_take_a_record_the_full_path_refuses(data: bytes) -> None:
    # GIVEN a route whose model has a default type and accepts non-finite floats
    route = Route(
        RouteConfig.model_validate(
            {
                "name": "readings",
                "record_type": "reading",
                "schema": "tests.unit.test_direct_validation:Reading",
                "sinks": ["lake"],
            }
        ),
        0,
    )
    router = Router([route], "type")
    fast = Pipeline(Decoder(DecodeConfig(max_depth=20)), [route], router)
    full = Pipeline(Decoder(DecodeConfig(max_depth=20)), [route], router)
    full._direct = set()
    # WHEN the same record goes through both, THEN the outcome is the same
    assert _outcome(fast, data) == _outcome(full, data)
