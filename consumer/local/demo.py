"""`sluice demo`: the whole system on one machine, with proof nothing was lost.

Starts the embedded emulator (or uses `AWS_ENDPOINT_URL`), creates what the pipeline
config names, puts sample events on the stream (some KPL-aggregated, about 5 percent bad),
runs the consumer until drained, reads every output back and reports. The last line on
stdout is one JSON object with the figures.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from consumer.aws.clients import AwsClients
from consumer.config import load_config
from consumer.delivery.stats import Stats
from consumer.errors import ConfigError
from consumer.loading import load_object
from consumer.local.demo_sqs import run_sqs_phase, sendable
from consumer.local.emulator import embedded_emulator, provision
from consumer.local.producer import aggregate_groups, put_all
from consumer.local.readback import (
    Found,
    copies,
    read_iceberg,
    read_lake,
    read_parquet,
    read_postgres,
    read_quarantine,
    read_sqlite,
    verdict,
)
from consumer.runtime.service import build_service
from consumer.sinks.base import BuildContext
from consumer.sinks.iceberg.config import IcebergSinkConfig
from consumer.sinks.postgres import PostgresSinkConfig
from consumer.sinks.s3 import S3SinkConfig
from consumer.sinks.sqlite import SqliteSinkConfig
from consumer.sources.kinesis.config import KinesisSourceConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    config: Path
    out: Path
    records: int
    invalid_ratio: float
    seed: int
    generator: str
    aggregate_every: int
    max_runtime_s: float
    database_url: str | None = None
    sqs_records: int = 500


DEMO_SCHEMA = "sluice_demo"


def say(text: str) -> None:
    print(f"[demo] {text}", file=sys.stderr, flush=True)


@contextmanager
def progress(stats: Stats, total: int) -> Iterator[None]:
    done = threading.Event()

    def report() -> None:
        while not done.wait(1.0):
            snap = stats.snapshot()
            say(
                f"consumed {snap['records_in']}/{total} records, "
                f"{snap['rows_written']} rows written, {snap['records_quarantined']} quarantined"
            )

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _produce(aws: AwsClients, stream: str, events: list[Any], aggregate_every: int) -> None:
    plain = [(e.key, e.data) for e in events]
    if aggregate_every > 1:
        chosen = [
            pair
            for e, pair in zip(events, plain, strict=True)
            if e.expect == "route:page_views" and int(e.key[-4:], 16) % aggregate_every == 0
        ]
        chosen_keys = {key for key, _ in chosen}
        plain = [pair for pair in plain if pair[0] not in chosen_keys]
        plain += aggregate_groups(chosen, group_size=5)
        say(f"{len(chosen)} page views packed into {len(chosen) // 5 + 1} KPL aggregates")

    def on_progress(sent: int) -> None:
        if sent % 2000 == 0 or sent == len(plain):
            say(f"put {sent}/{len(plain)} Kinesis records")

    put_all(aws.client("kinesis"), stream, plain, on_progress=on_progress)


def run_demo(options: DemoOptions) -> dict[str, Any]:
    started = time.monotonic()
    shutil.rmtree(options.out, ignore_errors=True)
    options.out.mkdir(parents=True)
    db_path = options.out / "sluice.db"
    if options.database_url:
        _reset_schema(options.database_url)
        os.environ["SLUICE__SINKS__DB"] = orjson.dumps(
            {
                "type": "postgres",
                "url": options.database_url,
                "db_schema": DEMO_SCHEMA,
                "create_table": True,
            }
        ).decode()
    else:
        os.environ["SLUICE__SINKS__DB__PATH"] = str(db_path)
    _tables_in(options.config, options.out)
    # stdout ends with the report; the EMF metrics go to a file beside the outputs.
    metrics = {"sink": "file", "path": str(options.out / "metrics.jsonl")}
    os.environ["SLUICE__METRICS"] = orjson.dumps(metrics).decode()
    config = load_config(options.config)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    emulator = nullcontext(endpoint) if endpoint else embedded_emulator()
    with emulator as url:
        say(f"AWS endpoint: {url} ({'given' if endpoint else 'embedded emulator'})")
        aws = AwsClients(endpoint_url=url)
        provision(config, aws)
        generate = load_object(options.generator, "--generator")
        events = generate(options.records, options.invalid_ratio, options.seed)
        say(f"generated {len(events)} events")
        source = config.source
        if not isinstance(source, KinesisSourceConfig):
            raise ConfigError("the demo pipeline's source must be a Kinesis stream")
        _produce(aws, source.stream, events, options.aggregate_every)
        service = build_service(config, Path.cwd(), aws)
        try:
            with progress(service.stats, len(events)):
                service.run(until_idle=True, max_runtime_s=options.max_runtime_s)
        finally:
            service.close()
        say("Kinesis stream drained")
        extra: dict[str, int] = {"kinesis_records": len(events)}
        if options.sqs_records:
            queued = sendable(
                generate(options.sqs_records, options.invalid_ratio, options.seed + 1)
            )
            sqs_config = options.config.with_name("pipeline-sqs.toml")
            extra |= run_sqs_phase(aws, sqs_config, queued, say, options.max_runtime_s)
            events = [*events, *queued]
        say("reading every output back")
        found = _read_back(config, aws, db_path, options)
    figures: dict[str, Any] = dict(verdict(events, found)) | extra
    if found.parquet_routes:
        figures |= copies(events, found.parquet_routes, found.parquet, "parquet")
    if found.iceberg_routes:
        figures |= copies(events, found.iceberg_routes, found.iceberg, "iceberg")
    figures["seconds"] = round(time.monotonic() - started, 2)
    (options.out / "report.json").write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return figures


def _reset_schema(url: str) -> None:
    """The demo owns schema `sluice_demo` and nothing else in the database."""
    import psycopg
    from psycopg import sql

    schema = sql.Identifier(DEMO_SCHEMA)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))


def _read_back(config: Any, aws: AwsClients, db_path: Path, options: DemoOptions) -> Found:
    found = Found()
    s3 = aws.client("s3")
    out = options.out
    tables = [r.name for r in config.routes]
    for sink in config.sinks.values():
        if isinstance(sink, S3SinkConfig) and sink.format == "jsonl":
            read_lake(found, s3, sink.bucket, sink.prefix, "event_id", out)
        elif isinstance(sink, SqliteSinkConfig):
            read_sqlite(found, db_path, tables, "event_id")
        elif isinstance(sink, PostgresSinkConfig) and options.database_url:
            read_postgres(found, options.database_url, DEMO_SCHEMA, tables, "event_id")
    _read_columns(found, config, aws)
    quarantine = config.quarantine
    if isinstance(quarantine, S3SinkConfig):
        read_quarantine(found, s3, quarantine.bucket, quarantine.prefix, out)
    return found


# -- the lake as tables (issue 19): Parquet objects and Iceberg tables, read back too ----
def _tables_in(config_path: Path, out: Path) -> None:
    """Point the SQL catalogs and warehouses of the config's Iceberg sinks into `out`, as
    the SQLite database is: every output of a demo run in one folder."""
    raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    for name, sink in raw.get("sinks", {}).items():
        catalog = sink.get("catalog", {})
        if sink.get("type") == "iceberg" and catalog.get("type") == "sql":
            prefix = f"SLUICE__SINKS__{name.upper()}__CATALOG__"
            os.environ[prefix + "URI"] = f"sqlite:///{(out / 'catalog.db').resolve()}"
            os.environ[prefix + "WAREHOUSE"] = str((out / "warehouse").resolve())


def _read_columns(found: Found, config: Any, aws: AwsClients) -> None:
    """Parquet objects with pyarrow, Iceberg tables by scanning them with pyiceberg."""
    for name, sink in config.sinks.items():
        routes = [route.name for route in config.routes if name in route.sinks]
        if isinstance(sink, S3SinkConfig) and sink.format == "parquet":
            read_parquet(found, aws.client("s3"), sink.bucket, sink.prefix, "event_id")
        elif isinstance(sink, IcebergSinkConfig):
            from consumer.sinks.iceberg.catalog import open_catalog

            catalog = open_catalog(sink, BuildContext(aws, Path.cwd()))
            for route in routes:
                table = catalog.load_table(f"{sink.namespace}.{sink.table or route}")
                read_iceberg(found, table, route, "event_id")


def _column_lines(figures: dict[str, Any]) -> list[str]:
    lines = []
    for name, label in (("parquet", "Parquet objects"), ("iceberg", "Iceberg table")):
        if f"{name}_rows" in figures:
            lines.append(
                f"{'in ' + label:<22}{figures[f'{name}_rows']:>8}  "
                f"({figures[f'{name}_lost']} lost, {figures[f'{name}_duplicates']} duplicated, "
                "read back)"
            )
    return lines


def columns_ok(figures: dict[str, Any]) -> bool:
    return all(
        figures.get(f"{name}_{what}", 0) == 0
        for name in ("parquet", "iceberg")
        for what in ("lost", "duplicates", "unexpected")
    )


def render(figures: dict[str, Any], out: Path, database_url: str | None = None) -> str:
    database = f"; database: schema {DEMO_SCHEMA}" if database_url else ", sluice.db"
    ok = figures["lost"] == 0 and figures["duplicates"] == 0 and figures["unexpected"] == 0
    ok = ok and columns_ok(figures)
    total = figures["records_written"] + figures["records_quarantined"]
    return "\n".join(
        [
            "",
            "sluice demo report",
            "------------------",
            f"records produced      {figures['records_produced']:>8}  "
            f"({figures['kinesis_records']} via Kinesis, "
            f"{figures.get('sqs_records_sent', 0)} via SQS)",
            f"written to the lake   {figures['records_written']:>8}  "
            f"({figures['s3_objects']} S3 objects, {figures['db_rows']} database rows)",
            *_column_lines(figures),
            f"quarantined           {figures['records_quarantined']:>8}",
            f"written + quarantined {total:>8}",
            f"lost                  {figures['lost']:>8}",
            f"duplicates            {figures['duplicates']:>8}",
            f"unexpected outcomes   {figures['unexpected']:>8}",
            f"job runs              {figures.get('jobs_run', 0):>8}  "
            f"({figures.get('job_duplicates_skipped', 0)} duplicate delivery skipped)",
            f"time                  {figures['seconds']:>8} s",
            f"outputs               {out}/ (lake, quarantine, report.json{database}"
            + (", Iceberg: warehouse/, catalog.db" if "iceberg_rows" in figures else "")
            + ")",
            f"verdict               {'OK: nothing lost, nothing duplicated' if ok else 'FAILED'}",
            "",
        ]
    )
