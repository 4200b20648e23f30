"""The PostgreSQL sink against the running server: idempotent, monotonic, deadlock-free."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from consumer.aws.clients import AwsClients
from consumer.config import parse_config
from consumer.delivery.retry import RetryConfig, call_with_retry
from consumer.errors import SinkConfigError
from consumer.flow import Batch, Position
from consumer.sinks.postgres import PostgresSink, PostgresSinkConfig, safe_target
from tests.faults import TcpOutage
from tests.integration.harness import Harness, reading

pytestmark = pytest.mark.integration
RETRY = RetryConfig(max_attempts=6, base_delay_s=0.05, max_delay_s=0.5)


def batch(rows: list[dict[str, Any]], route: str = "items") -> Batch:
    return Batch(
        route=route,
        source="s",
        partition="p",
        output_partition="",
        first_position=Position(1),
        last_position=Position(len(rows)),
        rows=rows,
        lines=[],
        key_fields=("id",),
        version_field="version",
    )


@pytest.fixture()
def table(pg_url: str, unique: str) -> Iterator[str]:
    name = f"items_{unique}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture()
def sink(pg_url: str, table: str) -> Iterator[PostgresSink]:
    config = PostgresSinkConfig.model_validate(
        {"url": pg_url, "table": table, "create_table": True, "pool_max_size": 4}
    )
    sink = PostgresSink("pg", config)
    yield sink
    sink.close()


def fetch(pg_url: str, table: str, columns: str = "id, version, n") -> list[tuple[Any, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(f'SELECT {columns} FROM "{table}" ORDER BY id').fetchall()


def write(sink: PostgresSink, b: Batch) -> None:
    call_with_retry("pg", lambda: sink.write(b), sink.is_retriable, RETRY)


def rows(ids: range, version: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"id-{i:04d}",
            "version": version,
            "n": i * version,
            "at": datetime(2026, 11, 22, tzinfo=UTC),
            "tags": {"v": version},
        }
        for i in ids
    ]


def test_replaying_a_batch_leaves_the_table_identical(
    sink: PostgresSink, pg_url: str, table: str
) -> None:
    # GIVEN a batch written once
    write(sink, batch(rows(range(100), 1)))
    first = fetch(pg_url, table, "*")
    # WHEN it is written again
    write(sink, batch(rows(range(100), 1)))
    # THEN row count and content are unchanged
    assert len(first) == 100 and fetch(pg_url, table, "*") == first


def test_an_older_version_never_overwrites_a_newer_one(
    sink: PostgresSink, pg_url: str, table: str
) -> None:
    write(sink, batch(rows(range(10), 5)))
    write(sink, batch(rows(range(5, 15), 3)))
    stored = {r[0]: r for r in fetch(pg_url, table)}
    assert [stored[f"id-{i:04d}"][1] for i in range(15)] == [5] * 10 + [3] * 5


def test_duplicate_keys_in_one_batch_keep_the_newest(
    sink: PostgresSink, pg_url: str, table: str
) -> None:
    write(sink, batch(rows(range(3), 2) + rows(range(3), 7) + rows(range(3), 4)))
    assert [r[1] for r in fetch(pg_url, table)] == [7, 7, 7]


@pytest.mark.parametrize("batch_rows", [1_000, 16])
def test_concurrent_writers_in_opposite_orders_do_not_deadlock(
    pg_url: str, table: str, batch_rows: int
) -> None:
    # GIVEN two writers upserting the same 300 keys, one ascending, one descending, in one
    # statement a cut or in statements of 16 rows
    config = {"url": pg_url, "table": table, "create_table": True, "batch_rows": batch_rows}
    sink = PostgresSink("pg", PostgresSinkConfig.model_validate(config))
    write(sink, batch(rows(range(300), 0)))
    errors: list[BaseException] = []

    def writer(order: list[int], version: int) -> None:
        try:
            for round_ in range(10):
                picked = [order[(round_ * 7 + i) % len(order)] for i in range(len(order))]
                write(sink, batch([r for i in picked for r in rows(range(i, i + 1), version)]))
        except BaseException as exc:
            errors.append(exc)

    up = threading.Thread(target=writer, args=(list(range(300)), 1))
    down = threading.Thread(target=writer, args=(list(range(299, -1, -1)), 2))
    # WHEN they run at once
    for thread in (up, down):
        thread.start()
    for thread in (up, down):
        thread.join()
    sink.close()
    # THEN no error surfaced and the newer version won everywhere
    assert errors == []
    assert {r[1] for r in fetch(pg_url, table)} == {2}


def test_a_connection_killed_mid_flush_is_retried_and_nothing_is_lost(
    sink: PostgresSink, pg_url: str, table: str
) -> None:
    # GIVEN a table whose inserts are slowed by a trigger, so a flush is surely in flight
    write(sink, batch(rows(range(1), 0)))
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "CREATE OR REPLACE FUNCTION sluice_slow() RETURNS trigger AS "
            "$$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        admin.execute(
            f'CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION sluice_slow()"
        )

        # WHEN the sink's backend is terminated while it writes 100 rows
        def kill() -> None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'sluice' AND state = 'active' "
                    "AND query ILIKE 'INSERT INTO%'"
                ).fetchall()
                if killed:
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill)
        killer.start()
        attempts: list[int] = []

        def flush() -> None:
            attempts.append(1)
            sink.write(batch(rows(range(100), 1)))

        call_with_retry("pg", flush, sink.is_retriable, RETRY)
        killer.join()
        admin.execute(f'DROP TRIGGER slow ON "{table}"')

    # THEN it was retried and every row is there, at the new version
    assert len(attempts) >= 2
    stored = fetch(pg_url, table)
    assert len(stored) == 100 and {r[1] for r in stored} == {1}


def test_hostile_values_are_stored_exactly(sink: PostgresSink, pg_url: str, table: str) -> None:
    hostile = [
        "'; DROP TABLE x; --",
        'quote " and \\ backslash',
        "ünïcødé ✓ 🚀",
        "x" * 1_000_000,
        "tab\there\nnewline",
        "$$ dollar $$",
        "\\N",
    ]
    write(sink, batch([{"id": f"h{i}", "version": 1, "text": v} for i, v in enumerate(hostile)]))
    with psycopg.connect(pg_url) as conn:
        stored: dict[str, str] = dict(conn.execute(f'SELECT id, text FROM "{table}"').fetchall())
    assert [stored[f"h{i}"] for i in range(len(hostile))] == hostile


def test_nul_characters_are_rejected_with_a_reason(sink: PostgresSink) -> None:
    row = {"id": "n1", "version": 1, "text": "a\x00b"}
    reason = sink.reject_reason(row, b'{"id":"n1","text":"a\\u0000b"}\n')
    assert reason is not None and "'text'" in reason and "NUL" in reason
    literal = {"id": "n2", "text": "\\u0000 is six characters"}
    assert sink.reject_reason(literal, b'{"text":"\\\\u0000 is six characters"}\n') is None


def test_new_columns_are_added_when_create_table_is_on(
    sink: PostgresSink, pg_url: str, table: str
) -> None:
    write(sink, batch([{"id": "a", "version": 1}]))
    write(sink, batch([{"id": "b", "version": 1, "extra": 4.5}]))
    assert fetch(pg_url, table, "id, version, extra") == [("a", 1, None), ("b", 1, 4.5)]


def test_logs_never_show_the_password() -> None:
    target = safe_target("postgresql://app:s3cr3t@db.internal:6543/lake")
    assert target == "db.internal:6543/lake" and "s3cr3t" not in target


def test_create_table_takes_column_types_from_the_output_model(
    sink: PostgresSink, pg_url: str, table: str
) -> None:
    # GIVEN a batch whose optional column is null in every row, and declared types
    b = batch([{"id": "a", "version": 1, "paid_at": None, "amount": None}])
    b.column_types = {
        "id": str,
        "version": int,
        "paid_at": datetime | None,
        "amount": Decimal | None,
    }
    # WHEN the table is created from it
    write(sink, b)
    # THEN the columns have the declared types, not text
    with psycopg.connect(pg_url) as conn:
        types: dict[str, str] = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s",
                (table,),
            ).fetchall()
        )
    assert types == {
        "id": "text",
        "version": "bigint",
        "paid_at": "timestamp with time zone",
        "amount": "numeric",
    }


def test_a_database_down_for_a_while_holds_the_checkpoint_then_completes(
    aws: AwsClients, pg_url: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN a pipeline whose database sink reaches PostgreSQL through a link that drops
    # (open connections cut, new ones refused) for three seconds in the middle of the run
    link = TcpOutage("127.0.0.1", 5432)
    link.up()
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}")
    harness = Harness.create(aws, unique, tmp_path, max_records=25)
    raw = harness.config.model_dump(mode="json", by_alias=True)
    table = f"readings_{unique}"
    raw["sinks"]["db"] = {
        "type": "postgres",
        "url": proxied,
        "table": table,
        "create_table": True,
        "connect_timeout_s": 2,
    }
    harness.config = parse_config(raw, "test")
    harness.put([reading(i) for i in range(400)])
    service = harness.service()

    refused: list[bool] = []

    def outage() -> None:
        time.sleep(0.5)
        link.down()
        refused.append(link.refuses())
        time.sleep(3)
        link.up()
        refused.append(link.refuses())

    cut = threading.Thread(target=outage)
    cut.start()
    try:
        # WHEN the consumer runs through the outage
        service.run(until_idle=True, max_runtime_s=90)
    finally:
        cut.join()
        service.close()
        link.down()

    # THEN the link really was down, then up; writes were retried; and every record is in
    # the lake once and in the table
    assert refused == [True, False]
    metrics = (tmp_path / "metrics.jsonl").read_text()
    assert '"RecordsRetried"' in metrics
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(400)}
    assert max(harness.lake_ids().values()) == 1
    rows = fetch(pg_url, table, "id")
    assert sorted(row[0] for row in rows) == sorted(f"r{i}" for i in range(400))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@pytest.mark.parametrize("tags", ["text[]", "jsonb"])  # an array column: rows go by name
def test_values_of_every_type_reach_their_columns(pg_url: str, table: str, tags: str) -> None:
    # GIVEN a table made by someone else, with a column of each type the sink writes to
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{table}" (id text PRIMARY KEY, version bigint, amount numeric, '
            "ratio double precision, at timestamptz, naive timestamp, day date, "
            "uid uuid, ok boolean, blob bytea, doc jsonb, list jsonb, big numeric, "
            f"tags {tags}, note varchar(40))"
        )
    sink = PostgresSink("pg", PostgresSinkConfig.model_validate({"url": pg_url, "table": table}))
    at = datetime(2026, 11, 22, 9, 30, 1, 123456, tzinfo=UTC)
    written = {
        "id": "a",
        "version": 1,
        "amount": Decimal("12345678901234567890.000000001"),
        "ratio": 0.1 + 0.2,
        "at": at,
        "naive": datetime(2026, 11, 22, 9, 30),
        "day": date(2026, 11, 22),
        "uid": UUID("12345678-1234-5678-1234-567812345678"),
        "ok": True,
        "blob": b"\x00\x01\xff",
        "doc": {"n": 1, "nested": {"s": "tab\there", 7: None}},
        "list": [1, "two", None],
        "big": 2**70,
        "tags": ["x", "y"],
        "note": "ünï 'quote' \\N",
    }
    # the ISO string a route without a transform carries goes to a timestamptz column too
    as_text = {"id": "b", "version": 1, "at": "2026-11-22T09:30:01.5+02:00", "amount": 1.25}
    try:
        # WHEN a batch of them is written
        write(sink, batch([written, as_text]))
    finally:
        sink.close()
    # THEN each column holds the value, converted by the column's type
    names = [c for c in written if c != "id"]
    stored = fetch(pg_url, table, ", ".join(["id", *names]))
    assert dict(zip(names, stored[0][1:], strict=True)) == {
        **{k: v for k, v in written.items() if k != "id"},
        "doc": {"n": 1, "nested": {"s": "tab\there", "7": None}},
    }
    assert stored[1][names.index("at") + 1] == datetime(2026, 11, 22, 7, 30, 1, 500000, tzinfo=UTC)
    assert stored[1][names.index("amount") + 1] == Decimal("1.25")


def test_a_cut_beyond_batch_rows_is_several_statements_in_one_transaction(
    pg_url: str, table: str
) -> None:
    config = {"url": pg_url, "table": table, "create_table": True, "batch_rows": 7}
    sink = PostgresSink("pg", PostgresSinkConfig.model_validate(config))
    try:
        # GIVEN 50 rows written 7 a statement, some keys twice
        write(sink, batch(rows(range(50), 1) + rows(range(0, 50, 3), 2)))
        stored = fetch(pg_url, table)
        assert [r[0] for r in stored] == [f"id-{i:04d}" for i in range(50)]
        assert [r[1] for r in stored] == [2 if i % 3 == 0 else 1 for i in range(50)]
        # WHEN a row of the last statement breaks a constraint
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT small CHECK (n < 1000)')
        newer = rows(range(50), 3)
        newer[-1]["n"] = 1000
        with pytest.raises(SinkConfigError, match="small"):
            sink.write(batch(newer))
    finally:
        sink.close()
    # THEN none of the statements before it left a row changed
    assert {r[1] for r in fetch(pg_url, table)} == {1, 2}


def test_a_column_whose_type_changed_between_batches_is_written_with_its_new_type(
    pg_url: str, table: str
) -> None:
    # GIVEN a table the sink has written, whose column another session then changes
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{table}" (id text PRIMARY KEY, version bigint, note text)')
    sink = PostgresSink("pg", PostgresSinkConfig.model_validate({"url": pg_url, "table": table}))
    try:
        write(sink, batch([{"id": "a", "version": 1, "note": "{}"}]))
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN note TYPE jsonb USING note::jsonb')
        # WHEN the next batch is written
        sink.write(batch([{"id": "a", "version": 2, "note": {"k": [1]}}]))
    finally:
        sink.close()
    # THEN it is, with the column's new type, and no error surfaced
    assert fetch(pg_url, table, "id, version, note") == [("a", 2, {"k": [1]})]


def test_a_value_too_long_for_its_column_is_refused_not_cut(pg_url: str, table: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{table}" (id text PRIMARY KEY, version int, code varchar(3))')
    sink = PostgresSink("pg", PostgresSinkConfig.model_validate({"url": pg_url, "table": table}))
    try:
        with pytest.raises(SinkConfigError, match="too long"):
            sink.write(batch([{"id": "a", "version": 1, "code": "abcd"}]))
    finally:
        sink.close()
    assert fetch(pg_url, table, "id") == []
