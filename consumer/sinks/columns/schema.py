"""A pydantic model as an Arrow schema: the columns of a route's Parquet objects and
Iceberg table, the same in every file whatever a batch happens to hold.

Types: str, int (int64), float (float64), bool, Decimal (decimal128 from `max_digits` and
`decimal_places`, else 38 digits with scale 9), datetime (UTC microseconds), date, UUID,
time and enums of strings (strings), bytes (binary), lists, sets and tuples of one type
(lists), nested models (structs), `X | None`. Anything else (a dict, a union of two
types, `Any`) has no column type: `SchemaError` at start, with the field named. Every
column may be null except the key fields a table is told about: a batch that lacks a
field writes nulls, never another type.

`Shape.exact` says whether every row the model validates fits the schema: then a route
whose rows are the model's own JSON needs no check per row. Ints without bounds inside
int64 and decimals without `max_digits` and `decimal_places` make it inexact.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import annotated_types
import pyarrow as pa
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from consumer.errors import ConfigError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DEFAULT_DECIMAL = (38, 9)
"""Precision and scale of a Decimal field that declares neither (Athena's widest)."""
UTC_MICROS = pa.timestamp("us", tz="UTC")


class SchemaError(ConfigError):
    """A model field has no column type; the message names it."""


@dataclass(frozen=True, slots=True)
class Shape:
    schema: pa.Schema
    exact: bool
    """Every row the model validates fits (no int without bounds, no loose decimal)."""
    wide_ints: bool
    """Some int field has no bounds inside int64: only a row with 19 digits in a row can
    overflow, so a check of the model's own JSON looks for those first."""
    loose_decimals: bool
    """Some Decimal field lacks `max_digits` or `decimal_places`."""


def arrow_shape(model: type[BaseModel], required: Iterable[str] = ()) -> Shape:
    """The Arrow schema of `model`'s rows; fields named in `required` are not nullable."""
    walker = _Walker()
    fields = walker.fields(model, model.__name__)
    keep = set(required)
    missing = keep - {f.name for f in fields}
    if missing:
        raise SchemaError(f"{model.__name__}: key field(s) {sorted(missing)} are not in the model")
    schema = pa.schema([f.with_nullable(f.name not in keep) for f in fields])
    exact = not (walker.wide_ints or walker.loose_decimals)
    return Shape(schema, exact, walker.wide_ints, walker.loose_decimals)


class _Walker:
    def __init__(self) -> None:
        self.wide_ints = False
        self.loose_decimals = False
        self._stack: list[type[BaseModel]] = []

    def fields(self, model: type[BaseModel], where: str) -> list[pa.Field]:
        if model in self._stack:
            raise SchemaError(f"{where}: {model.__name__} contains itself; no column type")
        self._stack.append(model)
        try:
            found = [
                pa.field(_column_name(model, name, info), self.field_type(info, f"{where}.{name}"))
                for name, info in model.model_fields.items()
                if not info.exclude
            ]
            found += [
                pa.field(name, self.of(info.return_type, (), f"{where}.{name}"))
                for name, info in model.model_computed_fields.items()
            ]
        finally:
            self._stack.pop()
        return found

    def field_type(self, info: FieldInfo, where: str) -> pa.DataType:
        return self.of(info.annotation, info.metadata, where)

    def of(self, annotation: Any, metadata: Sequence[Any], where: str) -> pa.DataType:
        """The Arrow type of one annotation; `metadata` holds its constraints."""
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            return self.of(args[0], [*metadata, *args[1:]], where)
        if origin in (typing.Union, types.UnionType):
            rest = [arg for arg in args if arg is not type(None)]
            if len(rest) != 1:
                raise SchemaError(f"{where}: a union of {len(rest)} types has no column type")
            return self.of(rest[0], metadata, where)
        if origin is typing.Literal:
            return _literal(args, where)
        if origin in (list, set, frozenset, Sequence, tuple):
            items = [arg for arg in args if arg is not Ellipsis]
            if len(items) != 1 or (origin is tuple and Ellipsis not in args):
                raise SchemaError(f"{where}: only lists of one type have a column type")
            return pa.list_(self.of(items[0], (), f"{where}[]"))
        if isinstance(annotation, type):
            return self._plain(annotation, metadata, where)
        raise SchemaError(f"{where}: {annotation!r} has no column type")

    def _plain(self, kind: type, metadata: Sequence[Any], where: str) -> pa.DataType:
        if issubclass(kind, BaseModel):
            return pa.struct(self.fields(kind, where))
        if issubclass(kind, enum.Enum):
            return _literal(tuple(member.value for member in kind), where)
        if issubclass(kind, bool):
            return pa.bool_()
        if issubclass(kind, int):
            self.wide_ints |= not _bounded(metadata)
            return pa.int64()
        if issubclass(kind, Decimal):
            return self._decimal(metadata)
        for base in kind.__mro__:  # datetime before date: the MRO puts a class first
            simple = _SIMPLE.get(base)
            if simple is not None:
                return simple
        raise SchemaError(f"{where}: {kind.__name__} has no column type")

    def _decimal(self, metadata: Sequence[Any]) -> pa.DataType:
        digits = _constraint(metadata, "max_digits")
        places = _constraint(metadata, "decimal_places")
        if digits is None or places is None or digits > 38:
            self.loose_decimals = True
        precision = min(digits or DEFAULT_DECIMAL[0], 38)
        scale = DEFAULT_DECIMAL[1] if places is None else places
        return pa.decimal128(precision, min(scale, precision))


def _constraint(metadata: Sequence[Any], name: str) -> int | None:
    found = [value for item in metadata if (value := getattr(item, name, None)) is not None]
    return found[-1] if found else None


_SIMPLE: dict[type, pa.DataType] = {
    str: pa.string(),
    float: pa.float64(),
    dt.datetime: UTC_MICROS,
    dt.date: pa.date32(),
    dt.time: pa.string(),  # Athena's Iceberg and Parquet tables have no time type
    uuid.UUID: pa.string(),  # nor a uuid type
    bytes: pa.binary(),
}


def _bounded(metadata: Sequence[Any]) -> bool:
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            low = getattr(item, "ge", None)
            low = low if low is not None else getattr(item, "gt", None)
        elif isinstance(item, annotated_types.Le | annotated_types.Lt):
            high = getattr(item, "le", None)
            high = high if high is not None else getattr(item, "lt", None)
        elif isinstance(item, annotated_types.Interval):
            low = next((v for v in (item.ge, item.gt) if v is not None), low)
            high = next((v for v in (item.le, item.lt) if v is not None), high)
    return (
        isinstance(low, int | float)
        and isinstance(high, int | float)
        and low >= INT64_MIN
        and high <= INT64_MAX
    )


def _literal(values: Sequence[Any], where: str) -> pa.DataType:
    kinds = {type(value) for value in values}
    if kinds <= {str}:
        return pa.string()
    if kinds <= {bool}:
        return pa.bool_()
    if kinds <= {int} and all(INT64_MIN <= v <= INT64_MAX for v in values):
        return pa.int64()
    names = sorted(kind.__name__ for kind in kinds)
    raise SchemaError(f"{where}: a choice of {names} has no column type")


def _column_name(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    """The name the row carries: the field's name, or its alias where the model
    serializes by alias."""
    if model.model_config.get("serialize_by_alias"):
        return info.serialization_alias or info.alias or name
    return name
