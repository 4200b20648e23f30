"""A route's model as Parquet/Iceberg columns: the schema derived from pydantic, the check
that quarantines what the columns cannot hold exactly, and the conversion of JSON lines,
which must accept every line the check accepts."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig, returned_model
from consumer.pipeline.router import Router
from consumer.sinks.base import LineCheck
from consumer.sinks.columns.check import route_check
from consumer.sinks.columns.convert import Columns, parquet_bytes
from consumer.sinks.columns.schema import SchemaError, arrow_shape


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    day: dt.date
    blob: bytes = b""
    tags: list[str] = []


class Wide(BaseModel):
    id: str
    count: int = Field(ge=0, le=1_000)
    big: int | None = None
    ratio: float = 0.0
    ok: bool = True
    at: dt.datetime
    price: Decimal = Field(max_digits=8, decimal_places=2)
    uid: UUID | None = None
    color: Color = Color.RED
    kind: Literal["a", "b"] = "a"
    inner: Inner | None = None
    inners: list[Inner] = []


class Bounded(BaseModel):
    id: str
    n: int = Field(ge=0, le=10)
    at: dt.datetime


def test_the_schema_follows_the_model_types() -> None:
    shape = arrow_shape(Wide, required=["id"])
    types = {field.name: field.type for field in shape.schema}
    assert types["id"] == pa.string() and not shape.schema.field("id").nullable
    assert types["count"] == types["big"] == pa.int64()
    assert types["at"] == pa.timestamp("us", tz="UTC")
    assert types["price"] == pa.decimal128(8, 2)
    assert types["uid"] == types["color"] == types["kind"] == pa.string()
    assert types["inner"] == pa.struct(
        [("day", pa.date32()), ("blob", pa.binary()), ("tags", pa.list_(pa.string()))]
    )
    assert types["inners"] == pa.list_(types["inner"])
    assert all(field.nullable for field in shape.schema if field.name != "id")
    # GIVEN `big` has no bounds THEN a row could overflow int64: the shape is inexact
    assert not shape.exact and shape.wide_ints and not shape.loose_decimals
    assert arrow_shape(Bounded).exact


class Loose(BaseModel):
    amount: Decimal


def test_a_decimal_without_bounds_is_wide_and_inexact() -> None:
    shape = arrow_shape(Loose)
    assert shape.schema.field("amount").type == pa.decimal128(38, 9)
    assert shape.loose_decimals and not shape.exact


class Mapped(BaseModel):
    id: str
    attributes: dict[str, str]


class Either(BaseModel):
    value: int | str


@pytest.mark.parametrize(
    ("model", "field"), [(Mapped, "Mapped.attributes"), (Either, "Either.value")]
)
def test_a_field_without_a_column_type_is_a_config_error_naming_it(
    model: type[BaseModel], field: str
) -> None:
    with pytest.raises(SchemaError, match=field):
        arrow_shape(model)


def test_a_key_field_missing_from_the_model_is_a_config_error() -> None:
    with pytest.raises(SchemaError, match="event_id"):
        arrow_shape(Bounded, required=["event_id"])


def _line(**row: Any) -> bytes:
    return orjson.dumps(row) + b"\n"


GOOD = {
    "id": "w1",
    "count": 3,
    "at": "2026-11-22T13:00:00.123456Z",
    "price": "12.50",
    "inner": {"day": "2026-11-22", "blob": "xy", "tags": ["a"]},
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"count": "3"}, "field 'count': expected an integer, got a string"),
        ({"big": 2**63}, "does not fit in 64 bits"),
        ({"at": 1_700_000_000}, "expected an ISO-8601 time"),
        ({"at": "2026-11-22T13:00:00.1234567Z"}, "at most microseconds"),
        ({"at": "2026-02-30T00:00:00Z"}, "not a valid time"),
        ({"price": "1.255"}, "more than 2 decimal places"),
        ({"price": "1234567.00"}, "more than 8 digits"),
        ({"price": "NaN"}, "not a decimal number"),
        ({"inner": {"day": "22/11/2026"}}, "field 'inner': field 'day': expected a date"),
        ({"inner": {"day": "2026-11-22", "extra": 1}}, "field 'extra' is not in the schema"),
        ({"surprise": 1}, "field 'surprise' is not in the schema"),
        ({"id": None}, "field 'id': null where a value is required"),
        ({"ok": 1}, "expected true or false"),
        ({"inners": [None]}, "item 0: null in a list"),
        ({"ratio": 2**60}, "not exact as a float"),
    ],
)
def test_a_value_the_columns_cannot_hold_exactly_has_a_reason(
    change: dict[str, Any], reason: str
) -> None:
    check = route_check(arrow_shape(Wide, required=["id"]), model_rows=False)
    assert check is not None
    assert check({}, _line(**GOOD)) is None
    found = check({}, _line(**{**GOOD, **change}))
    assert found is not None and reason in found, found


def test_rows_of_an_exact_model_need_no_check_and_wide_ints_only_a_digit_scan() -> None:
    assert route_check(arrow_shape(Bounded), model_rows=True) is None
    check = route_check(arrow_shape(Wide), model_rows=True)
    assert isinstance(check, LineCheck)
    assert check({}, _line(**GOOD)) is None
    assert check({}, _line(**{**GOOD, "big": 2**63})) is not None
    assert check({}, b'{"id": "w", "big": 123456789012345678901234}\n') is not None
    # a transform's rows are checked whatever the model says
    assert route_check(arrow_shape(Bounded), model_rows=False) is not None


def test_lines_convert_with_stable_types_and_nulls_for_missing_fields() -> None:
    shape = arrow_shape(Wide, required=["id"])
    columns = Columns(shape.schema)
    table = columns.table([_line(**GOOD), _line(id="w2", count=0, at="2026-11-22", price=1)])
    assert table.schema == shape.schema
    first, second = table.to_pylist()
    assert first["at"] == dt.datetime(2026, 11, 22, 13, 0, 0, 123456, tzinfo=dt.UTC)
    assert first["price"] == Decimal("12.50") and second["price"] == Decimal("1.00")
    assert first["inner"] == {"day": dt.date(2026, 11, 22), "blob": b"xy", "tags": ["a"]}
    assert second["inner"] is None and second["big"] is None and second["uid"] is None
    # an empty batch has the schema too
    assert columns.table([]).schema == shape.schema


def test_parquet_bytes_read_back_with_the_schema() -> None:
    shape = arrow_shape(Wide, required=["id"])
    table = Columns(shape.schema).table([_line(**GOOD)])
    for compression in ("zstd", "snappy"):
        back = pq.read_table(io.BytesIO(parquet_bytes(table, compression)))
        assert back.schema.equals(shape.schema) and back.to_pylist() == table.to_pylist()


class Stamp(BaseModel):
    at: dt.datetime | None = None
    amount: Decimal | None = Field(None, max_digits=10, decimal_places=3)


_TIMES = st.builds(
    lambda d, sep, frac, zone: d.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + zone,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.sampled_from(["T", " "]),
    st.sampled_from(["", ".5", ".123456", ".1234567"]),
    st.sampled_from(["", "Z", "+02:00", "-0530", "+00:00"]),
)
_AMOUNTS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.integers(-(10**12), 10**12),
    st.sampled_from(["1e2", "0.000", "-0", "9999999.999", "10000000"]),
)


@settings(max_examples=300, deadline=None)
@given(at=_TIMES, amount=_AMOUNTS)
@example(at="2000-01-01T00:00:00", amount="4457325.8390")  # a trailing zero past precision
@example(at="2000-01-01T00:00:00", amount="1." + "0" * 40)  # past what Arrow reads at all
def test_every_line_the_check_accepts_converts_to_the_same_value(at: str, amount: Any) -> None:
    # GIVEN a line with a time and a decimal in many spellings
    shape = arrow_shape(Stamp)
    check = route_check(shape, model_rows=False)
    assert check is not None
    line = _line(at=at, amount=amount)
    # WHEN the check accepts it THEN the conversion reads it, to the value Python reads
    if check({}, line) is None:
        row = Columns(shape.schema).table([line]).to_pylist()[0]
        expected = dt.datetime.fromisoformat(at.replace(" ", "T"))
        if expected.tzinfo is None:
            expected = expected.replace(tzinfo=dt.UTC)
        assert row["at"] == expected
        assert row["amount"] == Decimal(str(amount))


class Row(BaseModel):
    id: str
    n: int = Field(ge=0, le=100)


def to_row(model: Row) -> Row:
    return model


def to_rows(model: Row) -> list[Row] | None:
    return [model]


def test_a_transform_annotated_with_a_model_names_the_row_model() -> None:
    assert returned_model(to_row) is Row and returned_model(to_rows) is Row
    assert returned_model(lambda model: model) is None


def test_a_pipeline_quarantines_a_row_the_columns_refuse_at_stage_load() -> None:
    # GIVEN a line-only route whose only check reads lines
    spec = {"name": "rows", "schema": "tests.unit.test_columns:Row", "sinks": ["lake"]}
    route = Route(RouteConfig.model_validate(spec), 0)
    check = LineCheck(lambda line: "no" if b'"bad"' in line else None)
    pipeline = Pipeline(
        Decoder(DecodeConfig()), [route], Router([route], None), {"rows": [check]}, {"rows"}
    )

    def run(data: bytes) -> tuple[list[Any], bool]:
        return pipeline.process(Record("s", "p", Position(1), "k", 0.0, data))

    # WHEN a good and a refused record pass THEN the good one keeps no row (line-only)
    items, quarantined = run(b'{"id": "ok", "n": 1}')
    assert not quarantined and items[0].row == {}
    items, quarantined = run(b'{"id": "bad", "n": 1}')
    assert quarantined and (items[0].row["stage"], items[0].row["message"]) == ("load", "no")
