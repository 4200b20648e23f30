"""One harness per sink, so that every sink runs the same contract
(tests/contract/test_sinks.py): its config as the route's `lake`, how to read back what its
store holds, and (where it can be made so here) the same store unreachable.

S3 and DynamoDB run against the embedded emulator, PostgreSQL against the running server,
SQLite on a file; the memory sink is read as the object store it models (one object per
key, a rewrite replaces it).
"""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import orjson

from consumer.aws.clients import AwsClients
from consumer.delivery.assembly import Assembly
from consumer.sinks.base import BuildContext
from consumer.sinks.memory import ListSink
from consumer.sinks.s3 import iter_parquet, object_key
from tests.conftest import PG_URL, require

ROUTE = "items"


class SinkHarness(Protocol):
    name: str

    def config(self) -> dict[str, Any]: ...

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        """Every row the store holds for the route (a row written twice counts once only
        where the store replaced it)."""

    def down(self, parts: Assembly) -> AbstractContextManager[None] | None:
        """The built sink's store made unreachable for a while; None when this machine
        cannot make it so quickly."""


class S3Harness:
    name = "s3"

    def __init__(self, aws: AwsClients, unique: str) -> None:
        self.aws, self.bucket = aws, f"contract-{unique}"
        aws.client("s3").create_bucket(Bucket=self.bucket)

    def config(self) -> dict[str, Any]:
        return {"type": "s3", "bucket": self.bucket, "prefix": "lake"}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        s3 = self.aws.client("s3")
        found: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=self.bucket, Key=entry["Key"])["Body"].read()
                found += [orjson.loads(line) for line in gzip.decompress(body).splitlines()]
        return found

    def down(self, parts: Assembly) -> AbstractContextManager[None]:
        return _unreachable(parts, "s3")


class ParquetHarness(S3Harness):
    name = "s3-parquet"

    def config(self) -> dict[str, Any]:
        return {**super().config(), "format": "parquet"}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        return [
            row
            for _, rows in iter_parquet(self.aws.client("s3"), self.bucket, "lake")
            for row in rows
        ]


class SqliteHarness:
    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "contract.db"

    def config(self) -> dict[str, Any]:
        return {"type": "sqlite", "path": str(self.path), "busy_timeout_s": 0.2}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        with sqlite3.connect(self.path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(f'SELECT * FROM "{ROUTE}"')]

    @contextmanager
    def down(self, parts: Assembly) -> Iterator[None]:
        """Another process holds the database's write lock past the busy timeout."""
        holder = sqlite3.connect(self.path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


class IcebergHarness:
    """An Iceberg table in pyiceberg's SQL catalog (SQLite file), data on the emulator's S3."""

    name = "iceberg"

    def __init__(self, aws: AwsClients, unique: str, tmp_path: Path) -> None:
        self.aws, self.bucket = aws, f"contract-{unique}"
        aws.client("s3").create_bucket(Bucket=self.bucket)
        self.path = tmp_path / "catalog.db"
        self.uri = f"sqlite:///{self.path}"

    def config(self) -> dict[str, Any]:
        return {
            "type": "iceberg",
            "catalog": {"type": "sql", "uri": self.uri, "warehouse": f"s3://{self.bucket}/wh"},
            "namespace": "contract",
        }

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        from consumer.sinks.iceberg.catalog import open_catalog
        from consumer.sinks.iceberg.config import IcebergSinkConfig

        config = IcebergSinkConfig.model_validate(self.config())
        catalog = open_catalog(config, BuildContext(self.aws, Path.cwd()))
        rows: list[dict[str, Any]] = (
            catalog.load_table(f"contract.{ROUTE}").scan().to_arrow().to_pylist()
        )
        return rows

    @contextmanager
    def down(self, parts: Assembly) -> Iterator[None]:
        """Another process holds the catalog database's write lock past the busy timeout."""
        holder = sqlite3.connect(self.path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


class IcebergUpsertHarness(IcebergHarness):
    """Upserts by key into a table whose catalog is the running PostgreSQL."""

    name = "iceberg-upsert"

    def __init__(self, aws: AwsClients, unique: str, tmp_path: Path) -> None:
        PostgresHarness(unique)  # skips loudly when the server is missing
        super().__init__(aws, unique, tmp_path)
        self.uri = PG_URL
        self.namespace = f"contract_{unique}"

    def config(self) -> dict[str, Any]:
        return {**super().config(), "namespace": self.namespace, "mode": "upsert"}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        from consumer.sinks.iceberg.catalog import open_catalog
        from consumer.sinks.iceberg.config import IcebergSinkConfig

        config = IcebergSinkConfig.model_validate(self.config())
        catalog = open_catalog(config, BuildContext(self.aws, Path.cwd()))
        table = catalog.load_table(f"{self.namespace}.{ROUTE}")
        rows: list[dict[str, Any]] = table.scan().to_arrow().to_pylist()
        return rows

    def down(self, parts: Assembly) -> None:  # type: ignore[override]
        return None  # the PostgreSQL pool's outage is tested in test_postgres.py


class PostgresHarness:
    name = "postgres"

    def __init__(self, unique: str) -> None:
        import psycopg

        try:
            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            require(False, f"PostgreSQL at {PG_URL} is not reachable: {exc}")
        self.table = f"contract_{unique.replace('-', '_')}"

    def config(self) -> dict[str, Any]:
        return {"type": "postgres", "url": PG_URL, "table": self.table, "create_table": True}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(PG_URL, row_factory=dict_row) as conn:
            return list(conn.execute(f'SELECT * FROM "{self.table}"'))

    def down(self, parts: Assembly) -> None:
        # A pool waits its 30 s timeout for a server that is gone; the lost-connection
        # path is tested with a proxy in tests/integration/test_postgres.py.
        return None


class DynamoDbHarness:
    name = "dynamodb"

    def __init__(self, aws: AwsClients, unique: str) -> None:
        self.aws, self.table = aws, f"contract-{unique}"
        aws.client("dynamodb").create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )

    def config(self) -> dict[str, Any]:
        return {"type": "dynamodb", "table": self.table}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        pages = self.aws.client("dynamodb").get_paginator("scan").paginate(TableName=self.table)
        return [
            {"id": item["id"]["S"], "n": int(item["n"]["N"])}
            for page in pages
            for item in page["Items"]
        ]

    def down(self, parts: Assembly) -> AbstractContextManager[None]:
        return _unreachable(parts, "dynamodb")


class MemoryHarness:
    name = "memory"

    def config(self) -> dict[str, Any]:
        return {"type": "memory"}

    def rows(self, parts: Assembly) -> list[dict[str, Any]]:
        lake = parts.sinks["lake"]
        assert isinstance(lake, ListSink)
        objects = {object_key("", batch): batch.rows for batch in lake.batches}
        return [dict(row) for rows in objects.values() for row in rows]

    def down(self, parts: Assembly) -> None:
        return None  # its failure injection is what the source contract uses


@contextmanager
def _unreachable(parts: Assembly, service: str) -> Iterator[None]:
    """The sink's AWS client pointed at a port nobody listens on."""
    lake: Any = parts.sinks["lake"]
    client = lake.client
    lake.client = AwsClients(endpoint_url="http://127.0.0.1:1").client(service)
    try:
        yield
    finally:
        lake.client = client


SinkFactory = Callable[[AwsClients, str, Path], SinkHarness]
SINKS: dict[str, SinkFactory] = {
    "s3": lambda aws, unique, tmp_path: S3Harness(aws, unique),
    "s3-parquet": lambda aws, unique, tmp_path: ParquetHarness(aws, unique),
    "sqlite": lambda aws, unique, tmp_path: SqliteHarness(tmp_path),
    "postgres": lambda aws, unique, tmp_path: PostgresHarness(unique),
    "iceberg": IcebergHarness,
    "iceberg-upsert": IcebergUpsertHarness,
    "dynamodb": lambda aws, unique, tmp_path: DynamoDbHarness(aws, unique),
    "memory": lambda aws, unique, tmp_path: MemoryHarness(),
}
"""Every sink sluice has. A new sink gets the contract by being listed here."""
