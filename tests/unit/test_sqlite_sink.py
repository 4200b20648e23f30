"""SQLite sink on a real database file: idempotent upserts with a monotonic version guard."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consumer.errors import SinkConfigError
from consumer.flow import Batch, Position
from consumer.sinks.sqlite import SqliteSink, SqliteSinkConfig

MakeBatch = Callable[..., Batch]


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sluice.db"


@pytest.fixture()
def sink(db_path: Path) -> Iterator[SqliteSink]:
    sink = SqliteSink("db", SqliteSinkConfig(path=str(db_path)), db_path)
    yield sink
    sink.close()


@pytest.fixture()
def make_batch() -> MakeBatch:
    def make(
        rows: list[dict[str, Any]],
        key_fields: tuple[str, ...] = ("id",),
        version_field: str | None = None,
        first: int = 1,
    ) -> Batch:
        return Batch(
            route="orders",
            source="events",
            partition="shard-1",
            output_partition="",
            first_position=Position(first),
            last_position=Position(first + len(rows)),
            rows=rows,
            lines=[b"{}\n" for _ in rows],
            key_fields=key_fields,
            version_field=version_field,
        )

    return make


def _select(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


def test_rows_are_upserted_by_key(sink: SqliteSink, make_batch: MakeBatch, db_path: Path) -> None:
    # GIVEN two rows, then a batch updating one of them and adding a third
    sink.write(make_batch([{"id": "a", "qty": 1}, {"id": "b", "qty": 2}]))
    sink.write(make_batch([{"id": "b", "qty": 20}, {"id": "c", "qty": 3}], first=3))
    # THEN there is one row per key with the latest values
    rows = _select(db_path, 'SELECT id, qty FROM "orders" ORDER BY id')
    assert rows == [("a", 1), ("b", 20), ("c", 3)]


def test_replaying_a_batch_is_idempotent(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    batch = make_batch([{"id": "a", "qty": 1}, {"id": "b", "qty": 2}])
    sink.write(batch)
    before = _select(db_path, 'SELECT * FROM "orders" ORDER BY id')
    sink.write(batch)
    assert _select(db_path, 'SELECT * FROM "orders" ORDER BY id') == before
    assert _select(db_path, 'SELECT count(*) FROM "orders"') == [(2,)]


@pytest.mark.parametrize(
    ("version", "expected_qty"),
    [(4, 5), (5, 99), (6, 99)],
    ids=["older-ignored", "equal-applies", "newer-applies"],
)
def test_version_guard(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path, version: int, expected_qty: int
) -> None:
    # GIVEN a row at version 5
    sink.write(make_batch([{"id": "a", "v": 5, "qty": 5}], version_field="v"))
    # WHEN a later batch carries the same key at another version
    sink.write(make_batch([{"id": "a", "v": version, "qty": 99}], version_field="v", first=9))
    # THEN only an equal or newer version overwrites
    assert _select(db_path, 'SELECT qty, v FROM "orders"') == [(expected_qty, max(version, 5))]


def test_within_a_batch_the_highest_version_wins(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    rows = [{"id": "a", "v": 3, "qty": 3}, {"id": "a", "v": 7, "qty": 7}, {"id": "a", "v": 5}]
    sink.write(make_batch(rows, version_field="v"))
    assert _select(db_path, 'SELECT v, qty FROM "orders"') == [(7, 7)]


def test_a_new_column_in_a_later_batch_is_added(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    sink.write(make_batch([{"id": "a", "qty": 1}]))
    sink.write(make_batch([{"id": "b", "qty": 2, "note": "gift"}], first=2))
    rows = _select(db_path, 'SELECT id, qty, note FROM "orders" ORDER BY id')
    assert rows == [("a", 1, None), ("b", 2, "gift")]


def test_a_new_sink_on_an_existing_table_adds_columns(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    # GIVEN a table made by an earlier process
    sink.write(make_batch([{"id": "a", "qty": 1}]))
    # WHEN a fresh sink (no cached columns) writes a row with a new column
    other = SqliteSink("db2", SqliteSinkConfig(path=str(db_path)), db_path)
    other.write(make_batch([{"id": "a", "qty": 1, "note": "x"}], first=2))
    other.close()
    # THEN the column is added and the row updated
    assert _select(db_path, 'SELECT id, qty, note FROM "orders"') == [("a", 1, "x")]


def test_nested_values_are_json_and_datetimes_iso_text(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    moment = datetime(2026, 11, 22, 13, 5, 6, tzinfo=UTC)
    row = {"id": "a", "meta": {"tags": ["x", "y"], "n": 1}, "items": [1, 2], "at": moment}
    sink.write(make_batch([row]))
    meta, items, at = _select(db_path, 'SELECT meta, items, at FROM "orders"')[0]
    assert meta == '{"tags":["x","y"],"n":1}'
    assert items == "[1,2]"
    assert at == "2026-11-22T13:05:06+00:00"


def test_rows_are_written_in_key_order(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    # GIVEN rows out of key order, on a composite key
    rows = [
        {"id": "c", "region": "eu"},
        {"id": "a", "region": "us"},
        {"id": "a", "region": "eu"},
        {"id": "b", "region": "eu"},
    ]
    sink.write(make_batch(rows, key_fields=("id", "region")))
    # THEN they were inserted sorted by key (rowid is the insertion order)
    inserted = _select(db_path, 'SELECT id, region FROM "orders" ORDER BY rowid')
    assert inserted == [("a", "eu"), ("a", "us"), ("b", "eu"), ("c", "eu")]


def test_a_batch_without_key_fields_is_refused(sink: SqliteSink, make_batch: MakeBatch) -> None:
    with pytest.raises(SinkConfigError, match="route 'orders' declares no key"):
        sink.write(make_batch([{"id": "a"}], key_fields=()))


def test_the_configured_table_overrides_the_route_name(
    db_path: Path, make_batch: MakeBatch
) -> None:
    sink = SqliteSink("db", SqliteSinkConfig(path=str(db_path), table="facts"), db_path)
    sink.write(make_batch([{"id": "a"}]))
    sink.close()
    assert _select(db_path, 'SELECT id FROM "facts"') == [("a",)]


def test_only_locked_errors_are_retriable(sink: SqliteSink) -> None:
    assert sink.is_retriable(sqlite3.OperationalError("database is locked"))
    assert not sink.is_retriable(sqlite3.OperationalError("no such table: x"))
    assert not sink.is_retriable(sqlite3.IntegrityError("locked"))


def test_two_worker_processes_adding_the_same_column_both_write(
    sink: SqliteSink, make_batch: MakeBatch, db_path: Path
) -> None:
    # GIVEN two sinks (two worker processes) that both know the table without `note`
    sink.write(make_batch([{"id": "a", "qty": 1}]))
    other = SqliteSink("db", SqliteSinkConfig(path=str(db_path)), db_path)
    other.write(make_batch([{"id": "b", "qty": 2}], first=2))
    # WHEN both meet a new column, one after the other
    sink.write(make_batch([{"id": "c", "qty": 3, "note": "x"}], first=3))
    other.write(make_batch([{"id": "d", "qty": 4, "note": "y"}], first=4))
    other.close()
    # THEN the second finds it added already and writes its row
    assert _select(db_path, 'SELECT id, note FROM "orders" ORDER BY id')[2:] == [
        ("c", "x"),
        ("d", "y"),
    ]


def test_wal_mode_waits_for_a_lock_another_process_holds(db_path: Path) -> None:
    # GIVEN another connection holding the database's write lock for a moment
    db_path.parent.mkdir(parents=True)
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    import threading

    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    # WHEN a sink opens it (a second worker starting), THEN it waits instead of failing
    opened = SqliteSink("db", SqliteSinkConfig(path=str(db_path), busy_timeout_s=5), db_path)
    opened.close()
    holder.close()
