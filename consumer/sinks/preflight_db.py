"""`sluice validate --connect` for the database sinks: does each table a route writes
exist (or will `create_table` make it), can the role write it, does it have the unique
key the upsert needs, and does the route write every NOT NULL column without a default?

Each answer is a `Check`; nothing is written. What a flush would otherwise find out, once
and then on every restart (docs/troubleshooting.md), is found here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumer.sinks.postgres import PostgresSinkConfig, safe_target
from consumer.sinks.sqlite import SqliteSinkConfig, quote
from consumer.sinks.tables import TableUse


@dataclass(frozen=True)
class Check:
    field: str  # the config field to change when it fails
    what: str
    ok: bool
    detail: str

    def render(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.field}: {self.what}: {self.detail}"


def postgres(name: str, config: PostgresSinkConfig, uses: Sequence[TableUse]) -> list[Check]:
    import psycopg

    target = safe_target(config.conninfo())
    try:
        conn = psycopg.connect(config.conninfo(), autocommit=True)
    except psycopg.Error as exc:
        first = " ".join(str(exc).split())
        return [Check(f"sinks.{name}.url", f"PostgreSQL {target}", False, first)]
    with conn:
        schema = config.db_schema or str(_one(conn, "SELECT current_schema()"))
        checks = [_pg_schema(conn, name, config, schema)]
        checks += [_pg_table(conn, name, config, schema, use) for use in uses]
    return checks


def _one(conn: Any, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def _pg_schema(conn: Any, name: str, config: PostgresSinkConfig, schema: str) -> Check:
    field, what = f"sinks.{name}.db_schema", f"schema {schema}"
    if _one(conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", schema):
        return Check(field, what, True, "exists")
    if not config.create_table:
        return Check(field, what, False, "does not exist: create it, or set create_table = true")
    if _one(conn, "SELECT has_database_privilege(current_database(), 'CREATE')"):
        return Check(field, what, True, "missing; create_table will create it")
    return Check(field, what, False, "missing, and the role may not create schemas")


def _pg_table(
    conn: Any, name: str, config: PostgresSinkConfig, schema: str, use: TableUse
) -> Check:
    what = f"table {schema}.{use.table} (route {use.route.name})"
    oid = _one(
        conn,
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        schema,
        use.table,
    )
    if oid is None:
        if not config.create_table:
            return Check(
                use.table_field,
                what,
                False,
                f"does not exist: create it, or set sinks.{name}.create_table = true",
            )
        return Check(use.table_field, what, True, "missing; create_table will create it")
    for privilege in ("INSERT", "UPDATE"):
        if not _one(conn, "SELECT has_table_privilege(%s, %s)", oid, privilege):
            return Check(use.table_field, what, False, f"the role lacks {privilege} on it")
    problem = _pg_columns(conn, oid, config, use)
    return Check(use.table_field, what, problem is None, problem or "exists and is writable")


def _pg_columns(conn: Any, oid: int, config: PostgresSinkConfig, use: TableUse) -> str | None:
    keys = set(use.route.config.key)
    unique = conn.execute(
        "SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s AND i.indisunique GROUP BY i.indexrelid",
        (oid,),
    ).fetchall()
    if keys and not any(set(row[0]) == keys for row in unique):
        return (
            f"no PRIMARY KEY or UNIQUE constraint on ({', '.join(sorted(keys))}): the upsert "
            "needs one"
        )
    columns = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            "SELECT attname::text, attnotnull, atthasdef FROM pg_attribute "
            "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (oid,),
        ).fetchall()
    }
    if use.columns is None:
        return None
    required = sorted(
        c
        for c, (not_null, default) in columns.items()
        if not_null and not default and c not in use.columns
    )
    if required:
        return (
            f"column(s) {', '.join(required)} are NOT NULL without a default, and route "
            f"{use.route.name!r} does not write them: give the route its own table "
            "(routes[].table)"
        )
    missing = sorted(use.columns - set(columns))
    if missing and not config.create_table:
        return f"lacks column(s) {', '.join(missing)}: add them, or set create_table = true"
    return None


def sqlite(
    name: str, config: SqliteSinkConfig, uses: Sequence[TableUse], base: Path
) -> list[Check]:
    path = Path(config.path) if Path(config.path).is_absolute() else base / config.path
    field, what = f"sinks.{name}.path", f"SQLite {path}"
    folder = next((p for p in (path.parent, *path.parents) if p.exists()), None)
    if folder is None or not folder.is_dir():
        return [Check(field, what, False, "no folder to create it in")]
    if not path.exists():
        return [Check(field, what, True, "missing; created on the first write")]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        return [Check(field, what, False, f"cannot open it for writing: {exc}")]
    try:
        return [_sqlite_table(conn, use) for use in uses]
    finally:
        conn.close()


def _sqlite_table(conn: sqlite3.Connection, use: TableUse) -> Check:
    what = f"table {use.table} (route {use.route.name})"
    info = conn.execute(f"PRAGMA table_info({quote(use.table)})").fetchall()
    if not info:
        return Check(use.table_field, what, True, "missing; created on the first write")
    primary = {row[1] for row in info if row[5]}
    keys = set(use.route.config.key)
    if keys and primary != keys:
        return Check(
            use.table_field,
            what,
            False,
            f"its primary key is ({', '.join(sorted(primary))}), the route's key is "
            f"({', '.join(sorted(keys))}): give the route its own table (routes[].table)",
        )
    return Check(use.table_field, what, True, "exists, with the route's key")
