"""Configs that would block a shard, on real PostgreSQL and the emulator: caught by
`sluice validate` (or `--connect`) with the field named, or, when only the flush can find
out, stopping `sluice run` with a one-line diagnosis instead of retrying forever.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from consumer.errors import SinkConfigError
from consumer.flow import Batch, Position
from consumer.sinks.postgres import PostgresSink, PostgresSinkConfig
from tests.e2e.cli_faults import sluice_env

SCHEMA = """
from pydantic import BaseModel

class Reading(BaseModel):
    type: str
    reading_id: str
    value: float

class Alert(BaseModel):
    type: str
    alert_id: str
    text: str
"""


def pipeline(unique: str, pg_url: str, db: str, routes: str) -> str:
    return f"""
name = "checks-{unique}"
[source]
type = "kinesis"
stream = "checks-{unique}"
{routes}
[sinks.db]
type = "postgres"
url = "{pg_url}"
{db}
[quarantine]
type = "s3"
bucket = "checks-{unique}"
prefix = "quarantine"
[buffer]
max_age_s = 0.5
[retry]
max_attempts = 3
base_delay_s = 0.05
[metrics]
sink = "off"
"""


READINGS = """
[[routes]]
name = "readings"
record_type = "reading"
schema = "checks_schema:Reading"
key = "reading_id"
sinks = ["db"]
"""
ALERTS = """
[[routes]]
name = "alerts"
record_type = "alert"
schema = "checks_schema:Alert"
key = "alert_id"
sinks = ["db"]
"""


@pytest.fixture()
def schema(pg_url: str, unique: str) -> Iterator[str]:
    name = f"checks_{unique}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def sluice(
    folder: Path, endpoint: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumer", *args],
        cwd=folder,
        env=sluice_env(AWS_ENDPOINT_URL=endpoint),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def write(folder: Path, text: str) -> Path:
    (folder / "checks_schema.py").write_text(SCHEMA)
    path = folder / "pipeline.toml"
    path.write_text(text)
    return path


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done.stderr.strip().splitlines()[-1]


def test_create_table_creates_the_schema_too(pg_url: str, schema: str) -> None:
    # GIVEN a sink with create_table and a schema that does not exist
    config = PostgresSinkConfig.model_validate(
        {"url": pg_url, "db_schema": schema, "create_table": True}
    )
    sink = PostgresSink("db", config)
    try:
        # WHEN the first batch is written
        sink.write(
            Batch(
                "readings", "s", "p", "", Position(1), Position(1), [{"id": "a"}], [b"{}"], ("id",)
            )
        )
    finally:
        sink.close()
    # THEN schema and table exist, with the row
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(f'SELECT id FROM "{schema}"."readings"').fetchall()
    assert rows == [("a",)]


def test_validate_refuses_one_table_shared_with_different_keys(
    tmp_path: Path, pg_url: str, unique: str, emulator_endpoint: str
) -> None:
    # GIVEN the config: readings and alerts into one table "a.b"
    write(tmp_path, pipeline(unique, pg_url, 'table = "a.b"', READINGS + ALERTS))
    # WHEN it is validated
    done = sluice(tmp_path, emulator_endpoint, "validate", "--config", "pipeline.toml")
    # THEN exit 2, naming the field, the dotted name's meaning, and the shared table
    assert done.returncode == 2
    assert "sinks.db.table: 'a.b' is not a plain postgres name" in done.stderr
    assert "write db_schema = 'a', table = 'b'" in done.stderr
    assert "routes.0 (readings) and routes.1 (alerts) both write table 'a.b'" in done.stderr


def test_a_config_the_flush_finds_wrong_stops_run_with_a_diagnosis(
    tmp_path: Path, pg_url: str, schema: str, unique: str, emulator_endpoint: str
) -> None:
    # GIVEN a table made by someone else, with a NOT NULL column the route does not write
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".readings '
            "(reading_id text PRIMARY KEY, type text, value float8, site text NOT NULL)"
        )
    write(tmp_path, pipeline(unique, pg_url, f'db_schema = "{schema}"', READINGS))
    provisioned = sluice(
        tmp_path,
        emulator_endpoint,
        "run",
        "--config",
        "pipeline.toml",
        "--emulator",
        "--until-idle",
    )
    assert provisioned.returncode == 0, provisioned.stderr[-2000:]
    record = '{"type": "reading", "reading_id": "r-1", "value": 1.5}\n'
    put = sluice(tmp_path, emulator_endpoint, "put", "--config", "pipeline.toml", "-", stdin=record)
    assert put.returncode == 0, put.stderr[-2000:]

    # WHEN validate --connect looks first
    checked = sluice(
        tmp_path, emulator_endpoint, "validate", "--config", "pipeline.toml", "--connect"
    )
    # THEN it names the column and the route
    assert checked.returncode == 2
    assert "FAIL  routes.0.name: table" in checked.stdout
    assert "site are NOT NULL without a default, and route 'readings'" in checked.stdout

    # WHEN the consumer runs anyway, twice (as a restart would)
    for _ in range(2):
        done = sluice(
            tmp_path, emulator_endpoint, "run", "--config", "pipeline.toml", "--until-idle"
        )
        # THEN it stops at once, exit 2, with the diagnosis naming the target table (not
        # the staging table) and the column, and without retrying the write
        line = last_line(done)
        assert done.returncode == 2, done.stderr[-2000:]
        assert line.startswith("sluice: configuration error: sink 'db' route 'readings': ")
        assert f"table {schema}.readings: column 'site' is NOT NULL" in line, line
        assert "sluice_stage" not in line
        assert '"retrying"' not in done.stderr and "retrying the cut" not in done.stderr


def test_a_write_the_config_breaks_is_a_sink_config_error(pg_url: str, schema: str) -> None:
    # GIVEN a table without a unique key on the route's key
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".readings (id text, n int)')
    sink = PostgresSink(
        "db", PostgresSinkConfig.model_validate({"url": pg_url, "db_schema": schema})
    )
    batch = Batch(
        "readings", "s", "p", "", Position(1), Position(1), [{"id": "a", "n": 1}], [b"{}"], ("id",)
    )
    try:
        # WHEN a batch is written THEN the error says what the upsert needs
        with pytest.raises(SinkConfigError, match=r"PRIMARY KEY or UNIQUE constraint on exactly"):
            sink.write(batch)
    finally:
        sink.close()


def test_validate_connect_checks_schema_table_and_bucket(
    tmp_path: Path, pg_url: str, schema: str, unique: str, emulator_endpoint: str
) -> None:
    # GIVEN a schema that does not exist, no create_table, and a bucket that does not exist
    write(tmp_path, pipeline(unique, pg_url, f'db_schema = "{schema}"', READINGS))
    # WHEN validate --connect runs
    done = sluice(tmp_path, emulator_endpoint, "validate", "--config", "pipeline.toml", "--connect")
    # THEN each is a FAIL line naming the field to change, and it exits 2
    assert done.returncode == 2
    out = done.stdout
    assert f"FAIL  sinks.db.db_schema: schema {schema}: does not exist" in out
    assert "create_table = true" in out
    assert (
        f"FAIL  quarantine.bucket: bucket checks-{unique}: S3 bucket checks-{unique} does not exist"
        in out
    )
    assert f"FAIL  source.stream: stream checks-{unique}" in out

    # GIVEN create_table and the emulator's resources
    write(
        tmp_path, pipeline(unique, pg_url, f'db_schema = "{schema}"\ncreate_table = true', READINGS)
    )
    provisioned = sluice(
        tmp_path,
        emulator_endpoint,
        "run",
        "--config",
        "pipeline.toml",
        "--emulator",
        "--until-idle",
    )
    assert provisioned.returncode == 0, provisioned.stderr[-2000:]
    # WHEN validate --connect runs again THEN every check passes, the bucket probed
    done = sluice(tmp_path, emulator_endpoint, "validate", "--config", "pipeline.toml", "--connect")
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "exists and is writable (a probe object was written and deleted)" in done.stdout
