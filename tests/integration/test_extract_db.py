"""extract-db against the running PostgreSQL: keyset pages with watermark ties, incremental
runs, and a crash between the load and the watermark that loses and duplicates nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from batch_jobs.jobs.extract_db import decode_value
from batch_jobs.registry import run_job
from batch_jobs.runner import JobResult
from batch_jobs.state import StateError, StateStore
from consumer.aws.clients import AwsClients
from tests.configfile import write_toml
from tests.e2e.chaos import sluice_env
from tests.integration.harness import Harness

pytestmark = pytest.mark.integration
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture()
def table(pg_url: str, unique: str) -> Iterator[str]:
    """A source table `extract_src.t_<unique>`: readings with an `updated_at` watermark."""
    name = f"t_{unique}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS extract_src")
        conn.execute(
            sql.SQL(
                "CREATE TABLE extract_src.{} (id text PRIMARY KEY, key text NOT NULL, "
                "seq int NOT NULL, value double precision, updated_at timestamptz NOT NULL)"
            ).format(sql.Identifier(name))
        )
    yield f"extract_src.{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE extract_src.{}").format(sql.Identifier(name)))


def _insert(pg_url: str, table: str, rows: list[tuple[Any, ...]]) -> None:
    schema, name = table.split(".")
    with psycopg.connect(pg_url) as conn:
        conn.cursor().executemany(
            sql.SQL(
                "INSERT INTO {} (id, key, seq, value, updated_at) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, value = EXCLUDED.value, "
                "updated_at = EXCLUDED.updated_at"
            ).format(sql.Identifier(schema, name)),
            rows,
        )


def _rows(start: int, stop: int, ties: int) -> list[tuple[Any, ...]]:
    """Readings r{start}..r{stop-1}; `ties` consecutive rows share each watermark value."""
    return [
        (f"r{i}", f"k{i % 10}", i // 10, i / 10, BASE + timedelta(seconds=i // ties))
        for i in range(start, stop)
    ]


def _params(harness: Harness, table: str, **extra: str) -> dict[str, str]:
    unique = harness.config.name.removeprefix("it-")
    return {
        "table": table,
        "watermark_column": "updated_at",
        "key_column": "id",
        "columns": "id,key,seq,value",
        "record_type": "reading",
        "state_bucket": f"lake-{unique}",
        "state_name": f"db-{unique}",
        **extra,
    }


def _run(harness: Harness, params: dict[str, str]) -> JobResult:
    return run_job("extract-db", params, harness.config, harness.aws, (0, 1), harness.base_dir)


def _state(harness: Harness, params: dict[str, str]) -> dict[str, Any]:
    state = StateStore(harness.aws.client("s3"), params["state_bucket"]).load(params["state_name"])
    assert state is not None
    return state


def test_incremental_runs_take_only_new_and_changed_rows(
    aws: AwsClients, pg_url: str, unique: str, tmp_path: Path, table: str
) -> None:
    # GIVEN 95 rows, four to a watermark value (ties across page ends), one without a
    # value (invalid), and the DSN in Secrets Manager as RDS-style JSON
    harness = Harness.create(aws, unique, tmp_path, max_age_s=30)
    rows = _rows(0, 95, ties=4)
    rows[41] = (*rows[41][:3], None, rows[41][4])
    _insert(pg_url, table, rows)
    parts = conninfo_to_dict(pg_url)
    secret = {"host": parts["host"], "port": parts.get("port", 5432), "dbname": parts["dbname"]}
    secret["username"] = parts.get("user", "postgres")
    aws.client("secretsmanager").create_secret(
        Name=f"db-{unique}", SecretString=orjson.dumps(secret).decode()
    )
    params = _params(harness, table, dsn_secret_id=f"db-{unique}", page_rows="10")

    # WHEN extracted in pages of 10
    first = _run(harness, params)
    state = _state(harness, params)
    # AND, after 30 new rows (ties again) and a change to r7, extracted again
    _insert(pg_url, table, [*_rows(95, 125, ties=3), ("r7", "k7", 5, 99.5, BASE + timedelta(1))])
    second = _run(harness, params)

    # THEN the first run read 10 pages and stored the last row's watermark and key
    assert first.ok and (first.inputs, first.records, first.quarantined) == (10, 95, 1)
    assert (decode_value(state["watermark"]), decode_value(state["key"])) == (
        BASE + timedelta(seconds=94 // 4),
        "r94",
    )
    assert state["offset"] == 95
    # AND the second read only the 31 new or changed rows
    assert second.ok and (second.records, second.quarantined) == (31, 0)
    # AND the lake holds every valid row once, r7 twice (its two versions), the db the newest
    lake = harness.lake_ids()
    assert set(lake) == {f"r{i}" for i in range(125)} - {"r41"}
    assert {k: n for k, n in lake.items() if n > 1} == {"r7": 2}
    assert set(harness.db_ids()) == set(lake)
    [bad] = harness.quarantine_rows()
    assert (bad["stage"], bad["partition_key"]) == ("validate", "r41")
    with closing(sqlite3.connect(tmp_path / "it.db")) as db:
        assert db.execute("SELECT seq, value FROM readings WHERE id = 'r7'").fetchone() == (5, 99.5)


def _batch_run(config: Path, env: dict[str, str], params: dict[str, str], cwd: Path) -> Any:
    args = [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
    command = [sys.executable, "-m", "consumer", "batch", "run", "extract-db"]
    return subprocess.run(
        [*command, "--config", str(config), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_a_crash_after_the_load_before_the_watermark_resumes_without_loss_or_duplicate(
    aws: AwsClients, emulator_endpoint: str, pg_url: str, unique: str, tmp_path: Path, table: str
) -> None:
    # GIVEN 230 rows, three to a watermark value, read in pages of 40 into buffers of 15:
    # three cuts, so three watermark commits, per page
    harness = Harness.create(aws, unique, tmp_path, max_records=15, max_age_s=30)
    _insert(pg_url, table, _rows(0, 230, ties=3))
    params = _params(harness, table, dsn=pg_url, page_rows="40")
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    env = sluice_env(emulator_endpoint)

    # WHEN `sluice batch run extract-db` dies at the 8th commit: the third page's second
    # cut (rows 95-109) is in the lake and the db, its watermark is not stored
    crash = {"SLUICE_CRASH_AT": "extract_after_load_before_state:8"}
    crashed = _batch_run(config, {**env, **crash}, params, tmp_path)
    crashed_state = _state(harness, params)
    lake_after_crash = harness.lake_ids()
    # AND runs again with buffers of 23, so its cuts fall elsewhere
    config = write_toml(harness.config, tmp_path / "pipeline.toml", buffer={"max_records": 23})
    resumed = _batch_run(config, env, params, tmp_path)

    # THEN the crashed run had written past its stored watermark
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert crashed_state["offset"] == 95 and decode_value(crashed_state["key"]) == "r94"
    assert len(lake_after_crash) == 110
    # AND the rerun started at row 95 and finished
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = orjson.loads(resumed.stdout.strip().splitlines()[-1])
    assert (summary["records"], summary["failed_inputs"]) == (230 - 95, [])
    assert _state(harness, params)["offset"] == 230
    # AND every row is in the lake and the database exactly once
    lake = harness.lake_ids()
    assert set(lake) == {f"r{i}" for i in range(230)}
    assert max(lake.values()) == 1, [k for k, n in lake.items() if n > 1][:5]
    assert set(harness.db_ids()) == set(lake) and harness.quarantine_rows() == []


def test_a_state_of_another_input_is_refused_and_other_parts_do_nothing(
    aws: AwsClients, pg_url: str, unique: str, tmp_path: Path, table: str
) -> None:
    # GIVEN a table extracted once under a state name
    harness = Harness.create(aws, unique, tmp_path)
    _insert(pg_url, table, _rows(0, 5, ties=1))
    params = _params(harness, table, dsn=pg_url)
    assert _run(harness, params).records == 5

    # WHEN part 1 of 2 runs, and a run names another watermark under the same state
    part = run_job("extract-db", params, harness.config, aws, (1, 2), harness.base_dir)
    with pytest.raises(StateError, match="watermark_column differ"):
        _run(harness, {**params, "watermark_column": "seq"})

    # THEN the part did nothing and the state still belongs to the first input
    assert part.ok and (part.inputs, part.records) == (0, 0)
    assert _state(harness, params)["watermark_column"] == "updated_at"
