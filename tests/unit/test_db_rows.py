"""Rows the database sinks write: one per key in key order, and PostgreSQL's jsonb
parameter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from consumer.sinks.postgres_sql import positional, rows_parameter, value_of
from consumer.sinks.rows import one_per_key

ROWS: list[dict[str, Any]] = [
    {"id": 2, "v": 1},
    {"id": "10", "v": 3},
    {"id": "2", "v": 5},
    {"id": 10, "v": 2},
    {"id": None, "v": None},
    {"id": "b", "v": None},
    {"id": "b", "v": None},
    {"id": "a", "v": 4},
    {"id": "a"},
    {"v": 9},
]


def test_a_single_key_collapses_and_orders_as_a_one_field_composite_key() -> None:
    # GIVEN rows whose single key repeats, as text and as numbers, with and without versions
    for version in ("v", None):
        # WHEN collapsed by the single key, and by the same key as a composite
        single = one_per_key(ROWS, ("id",), version)
        composite = one_per_key([{**r, "k2": "x"} for r in ROWS], ("id", "k2"), version)
        # THEN the same rows win, in the same order
        assert [{**r, "k2": "x"} for r in single] == composite
    assert [(r.get("id"), r.get("v")) for r in one_per_key(ROWS, ("id",), "v")] == [
        ("10", 3),
        ("2", 5),
        (None, 9),
        ("a", 4),
        ("b", None),
    ]


def test_the_jsonb_parameter_writes_what_orjson_cannot_as_column_text() -> None:
    # GIVEN values orjson refuses (Decimal, bytes) and an integer beyond 64 bits
    rows = [
        {
            "d": Decimal("1.10"),
            "b": b"\x00\xff",
            "n": {1: "x"},
            "t": datetime(2026, 1, 2, tzinfo=UTC),
        },
        {"big": 2**70, "day": date(2026, 1, 2), "u": UUID(int=1), "d": Decimal("2")},
    ]
    # WHEN each is made the statement's parameter
    first = orjson.loads(rows_parameter(rows[:1]).obj)
    second = orjson.loads(rows_parameter(rows[1:]).obj)
    # THEN numeric digits and bytea hex are text the columns read; JSON keys are strings
    assert first == [
        {"d": "1.10", "b": "\\x00ff", "n": {"1": "x"}, "t": "2026-01-02T00:00:00+00:00"}
    ]
    assert second == [
        {"big": 2**70, "day": "2026-01-02", "u": "00000000-0000-0000-0000-000000000001", "d": "2"}
    ]


def test_rows_by_position_read_each_value_as_its_column_type() -> None:
    # GIVEN rows missing a column, and columns of scalar, json, domain and array types
    assert positional([{"a": 1, "b": "x"}, {"b": "y"}], ["a", "b"]) == [[1, "x"], [None, "y"]]
    # THEN scalars go through their text, json keeps the value, arrays go by name
    as_text = value_of(2, "timestamp with time zone", "timestamp with time zone", "D")
    as_json = value_of(0, "public.doc", "jsonb", "U")
    assert as_text is not None and as_json is not None
    assert as_text.as_string() == "(e ->> 2)::timestamp with time zone"
    assert as_json.as_string() == "(e -> 0)::public.doc"
    assert value_of(1, "text[]", "text[]", "A") is None
    assert value_of(1, "public.pair", "public.pair", "C") is None
