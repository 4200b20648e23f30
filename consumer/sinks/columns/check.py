"""Why a row cannot take a route's Arrow schema exactly, or None: the check every Parquet
and Iceberg sink gives the pipeline, so that such a row is quarantined at stage `load`
with its reason instead of failing a whole flush or being coerced.

The check reads the row's JSON line, which is what the sink converts (consumer/sinks/
columns/convert.py), and accepts exactly what that conversion reads without loss: an
int64 in range, a float, a bool, a string, an ISO-8601 time with at most microseconds, a
date, a decimal within its precision and scale, lists and objects of those, null where
the column may be null. A field the schema does not have is refused, at any depth.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import orjson
import pyarrow as pa

from consumer.sinks.base import LineCheck
from consumer.sinks.columns.schema import INT64_MAX, INT64_MIN, Shape

Validator = Callable[[Any], str | None]
"""Why a JSON value does not fit, or None."""

_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
"""A line with 19 digits in a row, found as 19 zeros once every digit is a zero: several
times faster than a regular expression, which backtracks at every digit."""
_FLOAT_EXACT = 2**53
_WIDE = Context(prec=80)


def route_check(shape: Shape, model_rows: bool) -> LineCheck | None:
    """The check of one route's rows. Rows that are the model's own JSON need none when
    the schema holds every value the model accepts; with ints without bounds, only a line
    with 19 digits in a row is read."""
    validate = object_validator(shape.schema)

    def full(line: bytes) -> str | None:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:  # pragma: no cover - lines are orjson's
            return f"not JSON: {exc}"
        return validate(value)

    if not model_rows:
        return LineCheck(full)
    if shape.exact:
        return None
    if not shape.loose_decimals:

        def long_ints(line: bytes) -> str | None:
            return full(line) if _LONG_RUN in line.translate(_DIGITS_AS_ZERO) else None

        return LineCheck(long_ints)
    return LineCheck(full)


def object_validator(schema: pa.Schema | pa.StructType) -> Validator:
    """A validator of a JSON object whose fields are `schema`'s."""
    fields = list(schema)
    checks = {field.name: (_validator(field.type), field.nullable) for field in fields}
    names = frozenset(checks)

    def validate(value: Any) -> str | None:
        if type(value) is not dict:
            return f"expected an object, got {_kind(value)}"
        extra = value.keys() - names
        if extra:
            return f"field {sorted(extra)[0]!r} is not in the schema"
        for name, (check, nullable) in checks.items():
            item = value.get(name)
            if item is None:
                if not nullable:
                    return f"field {name!r}: null where a value is required"
                continue
            reason = check(item)
            if reason is not None:
                return f"field {name!r}: {reason}"
        return None

    return validate


def _validator(kind: pa.DataType) -> Validator:
    if pa.types.is_struct(kind):
        return object_validator(kind)
    if pa.types.is_list(kind):
        return _list_validator(_validator(kind.value_type))
    if pa.types.is_decimal(kind):
        return _decimal_validator(kind.precision, kind.scale)
    for test, check in _SCALARS:
        if test(kind):
            return check
    raise TypeError(f"no check for {kind}")  # pragma: no cover - schema.py makes no other


def _list_validator(item: Validator) -> Validator:
    def validate(value: Any) -> str | None:
        if type(value) is not list:
            return f"expected a list, got {_kind(value)}"
        for index, element in enumerate(value):
            reason = "null in a list" if element is None else item(element)
            if reason is not None:
                return f"item {index}: {reason}"
        return None

    return validate


def _decimal_of(value: Any, readable: int) -> Decimal | str:
    """The value as a Decimal, or why it is none Arrow's reader takes (`readable` digits
    at most, as written)."""
    if type(value) is str:
        if _DECIMAL.fullmatch(value) is None:
            return f"{value!r} is not a decimal number"
        if len(value) > readable and sum(c.isdigit() for c in value) > readable:
            return f"{value} is written with more than {readable} digits"
        return Decimal(value)
    if type(value) in (int, float):
        return Decimal(repr(value))
    return f"expected a decimal, got {_kind(value)}"


def _decimal_validator(precision: int, scale: int) -> Validator:
    quantum = Decimal(1).scaleb(-scale)
    readable = 38 if precision <= 38 else 76  # digits Arrow's reader takes (convert.py)

    def validate(value: Any) -> str | None:
        number = _decimal_of(value, readable)
        if type(number) is str:
            return number
        assert isinstance(number, Decimal)
        try:
            fitted = number.quantize(quantum, context=_WIDE)
        except InvalidOperation:
            return f"{value} does not fit decimal({precision}, {scale})"
        if fitted != number:
            return f"{value} has more than {scale} decimal places"
        if len(fitted.as_tuple().digits) > precision and fitted != 0:
            return f"{value} has more than {precision} digits"
        return None

    return validate


def _string(value: Any) -> str | None:
    return None if type(value) is str else f"expected a string, got {_kind(value)}"


def _int64(value: Any) -> str | None:
    if type(value) is float and value.is_integer():
        return f"{value:.0f} is not an integer in 64 bits"
    if type(value) is not int:
        return f"expected an integer, got {_kind(value)}"
    return None if INT64_MIN <= value <= INT64_MAX else f"{value} does not fit in 64 bits"


def _float(value: Any) -> str | None:
    if type(value) is float:
        return None
    if type(value) is int:
        return None if abs(value) <= _FLOAT_EXACT else f"{value} is not exact as a float"
    return f"expected a number, got {_kind(value)}"


def _bool(value: Any) -> str | None:
    return None if type(value) is bool else f"expected true or false, got {_kind(value)}"


def _timestamp(value: Any) -> str | None:
    if type(value) is not str:
        return f"expected an ISO-8601 time, got {_kind(value)}"
    if _TIME.fullmatch(value) is None:
        return f"{value!r} is not an ISO-8601 time with at most microseconds"
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a valid time"
    return None


def _date(value: Any) -> str | None:
    if type(value) is not str or _DATE.fullmatch(value) is None:
        return f"expected a date YYYY-MM-DD, got {value!r}"
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a valid date"
    return None


_SCALARS: tuple[tuple[Callable[[pa.DataType], bool], Validator], ...] = (
    (pa.types.is_string, _string),
    (pa.types.is_binary, _string),  # pydantic writes bytes as UTF-8 text
    (pa.types.is_int64, _int64),
    (pa.types.is_float64, _float),
    (pa.types.is_boolean, _bool),
    (pa.types.is_timestamp, _timestamp),
    (pa.types.is_date32, _date),
)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
