"""Database errors that the configuration causes, told as what to change.

A NOT NULL column a route does not write, a missing schema, a table without a unique key
for the upsert, a missing privilege: retrying such a write fails the same way every time,
and so does every restart, which blocks the shard for good. The database sinks turn these
errors into `SinkConfigError` with one of the diagnoses below; the consumer then stops at
once (exit 2) with the diagnosis instead of retrying or restarting into the same flush.
Errors that can pass (a lost connection, a deadlock, a read-only failover) are not here:
they stay retriable.
"""

from __future__ import annotations

import sqlite3
from typing import Any

# PostgreSQL SQLSTATE classes a retry cannot fix: data exceptions (22), integrity
# constraint violations (23), invalid schema name (3F), syntax error or access rule
# violation (42: undefined table or column, privileges, ON CONFLICT without a unique key)
_PERMANENT_CLASSES = ("22", "23", "3F", "42")
_PG_HINTS = {
    "23502": "a route must write every NOT NULL column without a default: give the route "
    "its own table (routes[].table), or make the column nullable or give it a default",
    "23505": "the table has a unique constraint other than the route's key: upserts need "
    "the key to be the table's only unique key",
    "3F000": "create the schema, or set create_table = true (it creates schema and table)",
    "42P01": "create the table, or set create_table = true",
    "42703": "add the column, or set create_table = true (it adds missing columns)",
    "42P10": "the upsert needs a PRIMARY KEY or UNIQUE constraint on exactly the route's key",
    "42501": "grant the role INSERT and UPDATE on the table (and CREATE on the schema for "
    "create_table)",
}
_PG_CLASS_HINTS = {
    "22": "the table's column types do not fit the route's rows: align them with the "
    "route's output_model",
    "23": "a constraint of the table rejects the route's rows: drop it, or write elsewhere",
}


def postgres(exc: Exception, table: str, route: str) -> str | None:
    """The diagnosis of a PostgreSQL error, or None when a retry may succeed."""
    state = getattr(exc, "sqlstate", None) or ""
    if not state.startswith(_PERMANENT_CLASSES):
        return None
    diag: Any = getattr(exc, "diag", None)
    if getattr(diag, "schema_name", None) == "pg_catalog":
        return None  # two writers creating one table at once: the retry finds it made
    primary = getattr(diag, "message_primary", None) or str(exc).splitlines()[0]
    column = getattr(diag, "column_name", None)
    if state == "23502" and column:
        what = f"column {column!r} is NOT NULL, and a row of route {route!r} leaves it empty"
    else:
        what = primary
    hint = _PG_HINTS.get(state) or _PG_CLASS_HINTS.get(state[:2], "fix the table or the route")
    return f"table {table}: {what} [{state}]: {hint}"


def sqlite(exc: Exception, table: str, route: str) -> str | None:
    """The diagnosis of a SQLite error, or None when a retry may succeed (a lock)."""
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        hint = (
            "routes writing one table must write the same columns: give the route its own "
            "table (routes[].table)"
        )
        return f"table {table}: {text} (route {route!r}): {hint}"
    if not isinstance(exc, sqlite3.OperationalError) or "locked" in text.lower():
        return None
    if "ON CONFLICT clause does not match" in text:
        return (
            f"table {table} has no PRIMARY KEY or UNIQUE constraint on route {route!r}'s key: "
            "routes sharing a table need one key; give the route its own table (routes[].table)"
        )
    if "readonly" in text or "unable to open" in text:
        return f"database of table {table}: {text}: check the path and its permissions"
    return None


def dynamodb(exc: Exception, table: str, route: str) -> str | None:
    """The diagnosis of a DynamoDB error the table's key schema causes, or None."""
    response: Any = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error", {})
    message = str(error.get("Message", ""))
    if error.get("Code") == "ValidationException" and "key" in message.lower():
        return (
            f"table {table}: {message} (route {route!r}): the table's key schema must be the "
            "route's key"
        )
    return None
