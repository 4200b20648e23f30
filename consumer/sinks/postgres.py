"""PostgreSQL sink: each batch is one transaction of `INSERT ... SELECT ... ON CONFLICT DO
UPDATE` statements, pipelined, each reading at most `batch_rows` rows from one jsonb
parameter: arrays of values cast to the columns' types (read from the catalog once per
table), or, for array and composite columns, objects read with the table's row type
(`jsonb_populate_recordset`). docs/decisions.md has why and what was measured.

The upsert carries a monotonic guard when the route has a `version_field`: a replayed,
older row never overwrites a newer one. Rows are collapsed to one per key and inserted in
key order, so concurrent writers take row locks in the same order. Deadlocks,
serialization failures and lost connections are retriable; the pool replaces broken
connections. No statement is built from values: identifiers are quoted with
`psycopg.sql`, values travel as a parameter. Passwords are never logged. `create_table`
creates a missing schema, table and columns. An error the configuration causes is not
retried: it stops the consumer with a diagnosis (consumer/sinks/diagnosis.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from consumer.errors import SinkConfigError
from consumer.flow import Batch
from consumer.sinks.base import BuildContext, RowCheck, SinkBase
from consumer.sinks.diagnosis import postgres as diagnose
from consumer.sinks.postgres_sql import (
    COLUMN_TYPES,
    has_nul,
    pg_type,
    positional,
    rows_parameter,
    table_identifier,
    typed_upsert_statement,
    upsert_statement,
    value_of,
)
from consumer.sinks.rows import columns_of, one_per_key, target_table

log = logging.getLogger(__name__)

_RETRIABLE = (
    psycopg.OperationalError,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.LockNotAvailable,
    psycopg.InterfaceError,
    PoolTimeout,
)


class PostgresSinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["postgres"] = "postgres"
    url: SecretStr | None = Field(
        None, description="postgresql://user:password@host:port/db; libpq PG* env when unset"
    )
    table: str | None = Field(None, description="target table; the route name when unset")
    quoted_identifiers: bool = Field(
        False,
        description="accept table, schema and column names that need quoting (spaces, "
        "quotes, dots, upper case); sluice quotes them, so they are created exactly as written",
    )
    db_schema: str | None = Field(None, description="schema of the tables; search_path when unset")
    create_table: bool = Field(False, description="create missing tables and columns")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = (
        None
    )
    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(4, ge=1)
    connect_timeout_s: int = Field(10, ge=1)
    statement_timeout_s: float = Field(60.0, gt=0)
    batch_rows: int = Field(
        1_000,
        ge=1,
        description="rows per upsert statement: a larger cut is written as several "
        "statements, in key order, pipelined in one transaction",
    )

    def conninfo(self) -> str:
        extra: dict[str, Any] = {
            "connect_timeout": self.connect_timeout_s,
            "application_name": "sluice",
            # a server that vanishes without a word (a partition, a failover) is noticed
            # within about a minute instead of the kernel's quarter of an hour
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
        if self.sslmode:
            extra["sslmode"] = self.sslmode
        return make_conninfo(self.url.get_secret_value() if self.url else "", **extra)

    def build(self, name: str, ctx: BuildContext) -> PostgresSink:
        return PostgresSink(name, self)


def _pipeline(conn: psycopg.Connection[Any]) -> AbstractContextManager[Any]:
    """Pipeline mode where libpq has it (14 and later; the binary wheels bundle one)."""
    return conn.pipeline() if psycopg.Pipeline.is_supported() else nullcontext()


def safe_target(conninfo: str) -> str:
    """host:port/dbname for logs, never the password."""
    parts = conninfo_to_dict(conninfo)
    return f"{parts.get('host', 'local')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


class PostgresSink(SinkBase):
    def __init__(self, name: str, config: PostgresSinkConfig) -> None:
        self.name = name
        self.config = config
        conninfo = config.conninfo()
        timeout_ms = int(config.statement_timeout_s * 1000)
        self.pool = ConnectionPool(
            conninfo,
            min_size=config.pool_min_size,
            max_size=config.pool_max_size,
            kwargs={"options": f"-c statement_timeout={timeout_ms}"},
            check=ConnectionPool.check_connection,
            name=f"sluice-{name}",
            open=True,
        )
        self._known_columns: dict[str, set[str]] = {}
        self._schema_ready = False
        # per table: column -> (type, base type, category), read once, again on a change
        self._types: dict[str, dict[str, tuple[str, str, str]]] = {}
        log.info("postgres sink ready", extra={"sink": name, "target": safe_target(conninfo)})

    def row_check(self) -> RowCheck:
        return self.reject_reason

    def reject_reason(self, row: dict[str, Any], line: bytes) -> str | None:
        """PostgreSQL text and jsonb cannot hold NUL characters; such rows are quarantined."""
        if b"\\u0000" not in line:
            return None
        for column, value in row.items():
            if "\x00" in column or has_nul(value):
                return f"column {column!r}: PostgreSQL cannot store a NUL character"
        return None

    def write(self, batch: Batch) -> None:
        """Upsert the batch in one transaction; an error the config causes (a NOT NULL
        column the route does not write, a missing schema) is a `SinkConfigError` naming
        the target table (consumer/sinks/diagnosis.py)."""
        table = target_table(batch, self.config.table)
        if not batch.key_fields:
            raise SinkConfigError(f"sink {self.name!r}: route {batch.route!r} declares no key")
        try:
            if self.config.create_table:
                self._ensure_schema()
            try:
                self._write(batch, table)
            except psycopg.Error as exc:
                label = ".".join(p for p in (self.config.db_schema, table) if p)
                if self._types.pop(table, None) is None or not diagnose(exc, label, batch.route):
                    raise
                # a column's type changed under the types read before: once more, read again
                self._write(batch, table)
        except psycopg.Error as exc:
            label = ".".join(p for p in (self.config.db_schema, table) if p)
            diagnosis = diagnose(exc, label, batch.route)
            if diagnosis is None:
                raise
            raise SinkConfigError(f"sink {self.name!r} route {batch.route!r}: {diagnosis}") from exc

    def _ensure_schema(self) -> None:
        """`create_table` makes the schema too; only when it is missing, since CREATE
        SCHEMA IF NOT EXISTS still needs the database's CREATE privilege."""
        schema = self.config.db_schema
        if schema is None or self._schema_ready:
            return
        with self.pool.connection() as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if found.fetchone() is None:
                try:
                    with conn.transaction():
                        create = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                        conn.execute(create.format(sql.Identifier(schema)))
                except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema):
                    pass  # another writer made it between the look and the create
                log.info("schema created", extra={"sink": self.name, "schema": schema})
        self._schema_ready = True

    def _write(self, batch: Batch, table: str) -> None:
        keys, version = batch.key_fields, batch.version_field
        rows = one_per_key(batch.rows, keys, version)
        columns = columns_of(rows, keys)
        target = table_identifier(table, self.config.db_schema)
        size = self.config.batch_rows
        pool = self.pool
        with pool.connection() as conn, _pipeline(conn), conn.transaction(), conn.cursor() as cur:
            if self.config.create_table:
                self._ensure_table(cur, table, rows, columns, batch)
            values = self._values(cur, table, target, columns)
            if values is None:
                upsert = upsert_statement(target, columns, keys, version)
            else:
                upsert = typed_upsert_statement(target, columns, values, keys, version)
            # pipelined: the server upserts one statement's rows while the next is encoded,
            # and BEGIN, the statements and COMMIT go in one round trip
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                sent = chunk if values is None else positional(chunk, columns)
                cur.execute(upsert, (rows_parameter(sent),))

    def _values(
        self, cur: psycopg.Cursor[Any], table: str, target: sql.Identifier, columns: list[str]
    ) -> list[sql.Composable] | None:
        """The typed expressions of the columns for rows sent as arrays, or None when a
        column is missing from the table (the statement by name says which) or is an array
        or composite (its JSON is converted by name)."""
        types = self._types.get(table)
        if types is None or not types.keys() >= set(columns):
            found = cur.execute(COLUMN_TYPES, (target.as_string(cur),)).fetchall()
            types = {name: (type_name, base, category) for name, type_name, base, category in found}
            self._types[table] = types
        if not types.keys() >= set(columns):
            return None
        values: list[sql.Composable] = []
        for position, column in enumerate(columns):
            value = value_of(position, *types[column])
            if value is None:
                return None
            values.append(value)
        return values

    def _ensure_table(
        self,
        cur: psycopg.Cursor[Any],
        table: str,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[str],
        batch: Batch,
    ) -> None:
        keys = batch.key_fields
        known = self._known_columns.get(table)
        if known is not None and known.issuperset(columns):
            return
        target = table_identifier(table, self.config.db_schema)
        declared = batch.column_types or {}
        types = {column: pg_type(rows, column, declared.get(column)) for column in columns}
        definitions = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in columns
        )
        key_list = sql.SQL(", ").join(map(sql.Identifier, keys))
        cur.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
                target, definitions, key_list
            )
        )
        for column in columns:
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    target, sql.Identifier(column), sql.SQL(types[column])
                )
            )
        self._known_columns[table] = set(columns) | (known or set())

    def is_retriable(self, exc: BaseException) -> bool:
        if isinstance(exc, psycopg.errors.UniqueViolation):
            # two writers creating one table at once collide in the catalog; a retry finds
            # the table made
            return exc.diag.schema_name == "pg_catalog"
        return isinstance(exc, _RETRIABLE)

    def close(self) -> None:
        self.pool.close()
