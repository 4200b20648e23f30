"""The SQL the PostgreSQL sink sends: column types for create-if-missing, the upsert, and
values adapted for COPY. Identifiers are always quoted with `psycopg.sql`; no statement
is built from values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args
from uuid import UUID

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


def adapt(value: Any) -> Any:
    if isinstance(value, dict | list):
        return Jsonb(value)
    return value


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
    stage: sql.Identifier,
    columns: Sequence[str],
    keys: Sequence[str],
    version: str | None,
) -> sql.Composed:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    key_list = sql.SQL(", ").join(map(sql.Identifier, keys))
    updates = [c for c in columns if c not in keys]
    statement = sql.SQL(
        "INSERT INTO {} AS t ({}) SELECT {} FROM {} ORDER BY {} ON CONFLICT ({}) "
    ).format(target, names, names, stage, key_list, key_list)
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
