"""The SQL the PostgreSQL sink sends: column types for create-if-missing, the upsert, and
the rows as one JSON parameter. Identifiers are always quoted with `psycopg.sql`; no
statement is built from values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, get_args
from uuid import UUID

import orjson
from psycopg import sql
from psycopg.types.json import Jsonb

# Checked in order: bool before int, datetime before date (subclasses first).
_PG_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "double precision"),
    (str, "text"),
    (Decimal, "numeric"),
    (datetime, "timestamptz"),
    (date, "date"),
    (UUID, "uuid"),
    (dict, "jsonb"),
    (list, "jsonb"),
    (bytes, "bytea"),
)


def _text(value: Any) -> str:
    """What orjson cannot write, as the text PostgreSQL reads for the column: a Decimal's
    digits (numeric), bytes as `\\x` hex (bytea); dates and UUIDs as orjson writes them,
    for the standard library's turn."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    raise TypeError(f"{type(value).__name__} cannot be written to PostgreSQL")


def _as_is(data: bytes) -> bytes:
    return data


def rows_parameter(rows: Sequence[dict[str, Any]]) -> Jsonb:
    """The rows as one jsonb array, the parameter `upsert_statement` reads: orjson (what
    the pipeline wrote each row's line with), the standard library for what orjson
    refuses (an integer beyond 64 bits)."""
    try:
        data = orjson.dumps(rows, default=_text, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        data = json.dumps(rows, default=_text, ensure_ascii=False).encode()
    return Jsonb(data, dumps=_as_is)


def table_identifier(name: str, schema: str | None) -> sql.Identifier:
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def pg_type(rows: Sequence[dict[str, Any]], column: str, declared: Any = None) -> str:
    """The column type for create-if-missing: from the output model's annotation when the
    route declares one, else from the first non-null value (text when all are null)."""
    for candidate in (declared, *get_args(declared)):
        if isinstance(candidate, type) and candidate is not type(None):
            return next((name for kind, name in _PG_TYPES if issubclass(candidate, kind)), "text")
    for row in rows:
        value = row.get(column)
        if value is not None:
            return next((name for kind, name in _PG_TYPES if isinstance(value, kind)), "text")
    return "text"


def upsert_statement(
    target: sql.Identifier,
    columns: Sequence[str],
    keys: Sequence[str],
    version: str | None,
) -> sql.Composed:
    """One statement upserting a jsonb array of rows (`rows_parameter`), read with the
    target's own row type: each value is converted to its column's type on the server, as
    COPY's text would be. Rows go in key order, so concurrent writers lock alike."""
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    key_list = sql.SQL(", ").join(map(sql.Identifier, keys))
    updates = [c for c in columns if c not in keys]
    statement = sql.SQL(
        "INSERT INTO {} AS t ({}) SELECT {} FROM jsonb_populate_recordset(NULL::{}, %s) "
        "ORDER BY {} ON CONFLICT ({}) "
    ).format(target, names, names, target, key_list, key_list)
    if not updates:
        return statement + sql.SQL("DO NOTHING")
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in updates
    )
    statement += sql.SQL("DO UPDATE SET {}").format(assignments)
    if version:
        v = sql.Identifier(version)
        statement += sql.SQL(" WHERE t.{} IS NULL OR EXCLUDED.{} >= t.{}").format(v, v, v)
    return statement
