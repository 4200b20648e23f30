"""Pipeline and workflow files for the workflow tests: extract, transform, load.

- extract: readings validated and written as they are under the run prefix, two tasks side
  by side: JSON Lines objects under `src/a/` and `src/b/` (backfill), or a paginated HTTP
  API and a PostgreSQL table (extract-http, extract-db; `extracts`);
- transform: those objects through `enrich` (adds `value_x2`) under the run prefix;
- load: the enriched rows into the final lake prefix and a SQLite table.
"""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path
from typing import Any

from consumer.aws.clients import AwsClients
from consumer.sinks.s3 import iter_objects
from tests.configfile import _inline
from tests.integration.harness import Reading, reading


class Enriched(Reading):
    value_x2: float


def enrich(model: Reading) -> dict[str, Any]:
    return {**model.model_dump(mode="json"), "value_x2": model.value * 2}


def pipeline(unique: str, schema: str, transform: str | None, db: Path | None) -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": "readings",
        "record_type": "reading",
        "schema": schema,
        "sinks": ["lake", *(["db"] if db else [])],
        "key": "id",
        "version_field": "seq",
    }
    if transform:
        route["transform"] = transform
    sinks: dict[str, Any] = {"lake": {"type": "s3", "bucket": f"lake-{unique}", "prefix": "lake"}}
    if db:
        sinks["db"] = {"type": "sqlite", "path": str(db)}
    return {
        "name": f"wf-{unique}",
        "source": {"type": "kinesis", "stream": f"unused-{unique}"},
        "routes": [route],
        "sinks": sinks,
        "quarantine": {"type": "s3", "bucket": f"lake-{unique}", "prefix": "quarantine"},
        "buffer": {"max_records": 100, "max_age_s": 60},
        "metrics": {"sink": "off"},
    }


def write(path: Path, raw: dict[str, Any]) -> Path:
    lines = []
    for key, value in raw.items():
        if key == "steps":
            continue
        lines.append(f"{key} = {_inline(value)}")
    for step in raw.get("steps", []):
        lines.append(f"[[steps]]\nname = {_inline(step['name'])}")
        for option in ("launch", "max_attempts"):
            if option in step:
                lines.append(f"{option} = {_inline(step[option])}")
        for task in step["tasks"]:
            lines.append("[[steps.tasks]]")
            lines += [f"{key} = {_inline(value)}" for key, value in task.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def workflow(
    folder: Path,
    unique: str,
    topic_arn: str,
    transform_prefix: str = "{run_prefix}/extract/",
    final_prefix: str | None = None,
    extracts: list[dict[str, Any]] | None = None,
) -> Path:
    """The three-step workflow in `folder`; `transform_prefix` lets a test point the
    transform step at a corrupt object, `final_prefix` moves the load's lake output,
    `extracts` replaces the two backfill extracts."""
    harness = "tests.integration.harness:Reading"
    files = "tests.integration.workflow_files"
    write(folder / "extract.toml", pipeline(unique, harness, None, None))
    write(folder / "transform.toml", pipeline(unique, harness, f"{files}:enrich", None))
    write(folder / "load.toml", pipeline(unique, f"{files}:Enriched", None, folder / "wf.db"))
    bucket = f"lake-{unique}"

    def task(config: str, prefix: str, out: str | None) -> dict[str, Any]:
        env = {"SLUICE__SINKS__LAKE__PREFIX": out} if out else {}
        params = {"bucket": bucket, "prefix": prefix}
        return {"job": "backfill", "config": config, "params": params, "env": env}

    return write(
        folder / "workflow.toml",
        {
            "name": "readings",
            "bucket": bucket,
            "runs_table": f"runs-{unique}",
            "notify_topic_arn": topic_arn,
            "max_attempts": 2,
            "unit_timeout_s": 300,
            "retry_interval_s": 1,
            "steps": [
                {
                    "name": "extract",
                    "tasks": extracts
                    or [
                        task("extract.toml", "src/a/", "{run_prefix}/extract"),
                        task("extract.toml", "src/b/", "{run_prefix}/extract"),
                    ],
                },
                {
                    "name": "transform",
                    "tasks": [task("transform.toml", transform_prefix, "{run_prefix}/transform")],
                },
                {
                    "name": "load",
                    "tasks": [task("load.toml", "{run_prefix}/transform/", final_prefix)],
                },
            ],
        },
    )


def fan_out_tasks(unique: str) -> list[dict[str, Any]]:
    """The two backfill extracts, the first fanned out over 3 parts, 2 at a time."""
    env = {"SLUICE__SINKS__LAKE__PREFIX": "{run_prefix}/extract"}

    def extract(prefix: str) -> dict[str, Any]:
        params = {"bucket": f"lake-{unique}", "prefix": prefix}
        return {"job": "backfill", "config": "extract.toml", "params": params, "env": env}

    return [{**extract("src/a/"), "parts": 3, "max_concurrency": 2}, extract("src/b/")]


def put_sources(aws: AwsClients, unique: str, per_source: int) -> set[str]:
    """Readings as JSON Lines objects under src/a/ (plain) and src/b/ (gzip); their ids."""
    s3 = aws.client("s3")
    bucket = f"lake-{unique}"
    s3.create_bucket(Bucket=bucket)
    ids = set()
    for index, source in enumerate(("a", "b")):
        for chunk in range(2):
            first = index * per_source + chunk * (per_source // 2)
            numbers = range(first, first + per_source // 2)
            body = b"\n".join(reading(n)[1] for n in numbers) + b"\n"
            if source == "b":
                body = gzip.compress(body)
            s3.put_object(Bucket=bucket, Key=f"src/{source}/part-{chunk}.jsonl", Body=body)
            ids |= {f"r{n}" for n in numbers}
    return ids


def extract_tasks(unique: str, api_url: str, dsn: str, table: str) -> list[dict[str, Any]]:
    """An HTTP API and a PostgreSQL table extracted side by side under the run prefix, each
    with its resumable state named after the run."""
    env = {"SLUICE__SINKS__LAKE__PREFIX": "{run_prefix}/extract"}
    state = {"state_bucket": f"lake-{unique}"}
    http = {
        "url": api_url,
        "items_field": "data.items",
        "next_field": "meta.next",
        "cursor_param": "cursor",
        "rate_per_s": "100",
        "auth_secret_id": f"api-{unique}",
        "state_name": "{run_id}-http",
        **state,
    }
    db = {
        "dsn": dsn,
        "table": table,
        "watermark_column": "updated_at",
        "key_column": "id",
        "columns": "id,key,seq,value",
        "record_type": "reading",
        "page_rows": "50",
        "state_name": "{run_id}-db",
        **state,
    }
    return [
        {"job": "extract-http", "config": "extract.toml", "params": http, "env": env},
        {"job": "extract-db", "config": "extract.toml", "params": db, "env": env},
    ]


def source_table(dsn: str, table: str, first: int, count: int) -> set[str]:
    """Readings `first`.. in a PostgreSQL table with a watermark column; their ids."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{table}" (id text PRIMARY KEY, key text, seq int, '
            "value double precision, updated_at timestamptz NOT NULL)"
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                f'INSERT INTO "{table}" VALUES (%s, %s, %s, %s, '
                "timestamptz '2026-11-30 00:00:00+00' + %s * interval '1 second')",
                [
                    (f"r{n}", f"k{n % 10}", n // 10, n / 10, n // 4)
                    for n in range(first, first + count)
                ],
            )
    return {f"r{n}" for n in range(first, first + count)}


def final_outputs(
    aws: AwsClients, unique: str, folder: Path, prefix: str = "lake"
) -> tuple[list[Any], list[Any]]:
    """Rows of the final lake prefix and of the SQLite table, sorted by id."""
    s3 = aws.client("s3")
    lake = [row for _, rows in iter_objects(s3, f"lake-{unique}", prefix) for row in rows]
    conn = sqlite3.connect(folder / "wf.db")
    try:
        table = conn.execute("SELECT id, key, seq, value, value_x2 FROM readings ORDER BY id")
        db = [tuple(row) for row in table]
    finally:
        conn.close()
    return sorted(lake, key=lambda row: str(row["id"])), db


def drop_table(dsn: str, table: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
