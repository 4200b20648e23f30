"""SQLite sink, the embedded database: one upsert per row on the route's key.

With a `version_field` the upsert carries a monotonic guard: a replayed, older row never
overwrites a newer one. Rows are collapsed to one per key and written in key order inside
one transaction, so a batch lands whole or not at all: the same semantics as the
PostgreSQL and DynamoDB sinks, so the embedded default behaves like production. Columns
are created from the rows as they appear (SQLite columns need no type); nested values are
stored as JSON text.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import SinkConfigError
from consumer.flow import Batch
from consumer.sinks.base import BuildContext, SinkBase
from consumer.sinks.diagnosis import sqlite as diagnose
from consumer.sinks.rows import columns_of, one_per_key, target_table


class SqliteSinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sqlite"] = "sqlite"
    path: str = Field(description="database file; relative paths start at the working dir")
    table: str | None = Field(None, description="target table; the route name when unset")
    quoted_identifiers: bool = Field(
        False,
        description="accept table, schema and column names that need quoting (spaces, "
        "quotes, dots, upper case); sluice quotes them, so they are created exactly as written",
    )
    busy_timeout_s: float = Field(30.0, gt=0)

    def build(self, name: str, ctx: BuildContext) -> SqliteSink:
        path = Path(self.path)
        if not path.is_absolute():
            path = ctx.base_dir / path
        return SqliteSink(name, self, path)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def to_sql_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bytes):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return orjson.dumps(value).decode()


class SqliteSink(SinkBase):
    def __init__(self, name: str, config: SqliteSinkConfig, path: Path) -> None:
        self.name = name
        self.config = config
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            path, timeout=config.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        self._wal(config.busy_timeout_s)
        self.conn.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()
        self._columns: dict[str, set[str]] = {}

    def _wal(self, timeout_s: float) -> None:
        """WAL mode; SQLite answers "locked" without waiting when another process (a
        second worker opening the same file) holds the lock, so wait for it here."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def write(self, batch: Batch) -> None:
        """Upsert the batch in one transaction; an error the config causes (a table two
        routes share with different keys) is a `SinkConfigError` (sinks/diagnosis.py)."""
        table = target_table(batch, self.config.table)
        if not batch.key_fields:
            raise SinkConfigError(f"sink {self.name!r}: route {batch.route!r} declares no key")
        try:
            self._write(batch, table)
        except sqlite3.Error as exc:
            diagnosis = diagnose(exc, table, batch.route)
            if diagnosis is None:
                raise
            raise SinkConfigError(f"sink {self.name!r} route {batch.route!r}: {diagnosis}") from exc

    def _write(self, batch: Batch, table: str) -> None:
        rows = one_per_key(batch.rows, batch.key_fields, batch.version_field)
        columns = columns_of(rows, batch.key_fields)
        with self._lock:
            self._ensure_table(table, columns, batch.key_fields)
            sql = self._upsert_sql(table, columns, batch.key_fields, batch.version_field)
            params = [[to_sql_value(row.get(c)) for c in columns] for row in rows]
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(sql, params)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _ensure_table(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> None:
        known = self._columns.get(table)
        if known is None:
            key_list = ", ".join(quote(k) for k in keys)
            cols = ", ".join(quote(c) for c in sorted(set(columns) | set(keys)))
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {quote(table)} ({cols}, PRIMARY KEY ({key_list}))"
            )
            info = self.conn.execute(f"PRAGMA table_info({quote(table)})").fetchall()
            known = self._columns[table] = {row[1] for row in info}
        for column in columns:
            if column not in known:
                try:
                    self.conn.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc).lower():
                        raise  # else another process (a second worker) added it first
                known.add(column)

    @staticmethod
    def _upsert_sql(
        table: str, columns: Sequence[str], keys: Iterable[str], version: str | None
    ) -> str:
        key_set = set(keys)
        names = ", ".join(quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(
            f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in key_set
        )
        conflict = ", ".join(quote(k) for k in keys)
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) "
        if not updates:
            return sql + "DO NOTHING"
        sql += f"DO UPDATE SET {updates}"
        if version:
            v = quote(version)
            sql += f" WHERE {quote(table)}.{v} IS NULL OR excluded.{v} >= {quote(table)}.{v}"
        return sql

    def is_retriable(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()

    def close(self) -> None:
        self.conn.close()
