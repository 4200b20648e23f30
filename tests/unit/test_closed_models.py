"""Closed models skip the token and depth scans (consumer/pipeline/closed.py): which models
are closed, and that for them the fast path still gives the full path's outcome when a
record holds a non-finite number or nests deeply anywhere."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
import pytest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from consumer.flow import Position, Record
from consumer.pipeline.closed import closed_depth
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from load_tests.reference import OrderEvent, events, order_route

FORBID = ConfigDict(extra="forbid")


class Flat(BaseModel):
    model_config = FORBID
    name: str
    kind: Literal["a", "b"]
    ratio: float = Field(ge=0, le=1)


class Finite(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    x: float
    grid: list[list[int]]


class Holder(BaseModel):
    model_config = FORBID
    one: Finite
    many: list[Finite] = []
    pair: tuple[int, Flat] | None = None


class Ignoring(BaseModel):
    name: str


class FreeFloat(BaseModel):
    model_config = FORBID
    x: float


class HalfBounded(BaseModel):
    model_config = FORBID
    x: float = Field(ge=0)


class Tree(BaseModel):
    model_config = FORBID
    kids: list[Tree] = []


class Loose(BaseModel):
    model_config = FORBID
    extra: dict[str, Any]


class Before(BaseModel):
    model_config = FORBID
    n: Annotated[int, BeforeValidator(lambda v: v)]


@pytest.mark.parametrize(
    ("model", "depth"),
    [
        (Flat, 1),
        (Finite, 3),
        (Holder, 5),  # many -> Finite -> grid -> list
        (OrderEvent, 3),
        (Ignoring, None),  # an ignored extra field may hold anything
        (FreeFloat, None),  # NaN and both infinities
        (HalfBounded, None),  # Infinity passes a lower bound
        (Tree, None),  # nests without bound
        (Loose, None),
        (Before, None),  # a before-validator sees the raw JSON
    ],
)
def test_which_models_are_closed_and_how_deep(model: type[BaseModel], depth: int | None) -> None:
    assert closed_depth(model) == depth


ODD_VALUES = [b"NaN", b"Infinity", b"-Infinity", b'{"a": NaN}', b"[" * 40 + b"]" * 40]


def _pipeline(skip: bool) -> Pipeline:
    route = Route(RouteConfig.model_validate(order_route()), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"), None, {"orders"})
    if not skip:
        pipeline._closed = set()
    return pipeline


def _mutations(data: bytes) -> list[bytes]:
    """`data` with each odd value in place of each of its values, and of each value and
    what follows it in its object."""
    out: list[bytes] = []
    for at in (i + 1 for i, byte in enumerate(data) if byte == ord(":")):
        for stop in (b",}", b"}"):
            end = at
            while end < len(data) - 1 and data[end] not in stop:
                end += 1
            out.extend(data[:at] + odd + data[end:] for odd in ODD_VALUES)
    return out


def test_a_closed_route_gives_the_full_paths_outcome_for_odd_values_anywhere() -> None:
    skipping, scanning = _pipeline(skip=True), _pipeline(skip=False)
    assert "orders" in skipping._closed
    cases = [m for seed in (1, 2, 3) for m in _mutations(events(1, seed=seed)[0])]
    assert len(cases) > 500
    for mutated in cases:
        # GIVEN a reference event with a non-finite number or deep nesting in place of
        # one of its values, WHEN it goes through the route that skips the scans and one
        # that scans, THEN the outcomes agree, quarantine reasons included
        record = Record("orders", "shardId-0", Position(1), "k", 1_795_000_000.0, mutated)
        got, expected = skipping.process(record), scanning.process(record)
        assert _comparable(got) == _comparable(expected), mutated


def _comparable(outcome: tuple[list[Any], bool]) -> tuple[bool, list[bytes]]:
    items, quarantined = outcome
    rows = []
    for item in items:
        row = dict(item.row)
        row.pop("quarantined_at", None)
        rows.append(orjson.dumps(row) + item.line if not quarantined else orjson.dumps(row))
    return quarantined, rows
