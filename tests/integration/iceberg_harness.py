"""An Iceberg sink over a real catalog for the integration tests: the route's models, a
pipeline config, the engine over a bounded input (with a crash before its first ack), and a
reader of the table and its commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest
from pydantic import BaseModel, Field

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig, parse_config
from consumer.delivery.assembly import Assembly
from consumer.delivery.engine import Engine
from consumer.flow import Batch, Cut, Position, Record
from consumer.sinks.base import BuildContext
from consumer.sinks.iceberg.catalog import open_catalog
from consumer.sinks.iceberg.commits import WRITER
from consumer.sinks.iceberg.config import IcebergSinkConfig
from consumer.sources.bounded import BoundedSource
from tests.contract.parts import CrashBeforeAck

START = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


class Reading(BaseModel):
    type: Literal["reading"] = "reading"
    id: str
    at: datetime
    value: int = Field(ge=0, le=10**6)
    version: int = Field(0, ge=0, le=10**9)


class ReadingV2(Reading):
    note: str | None = None


class Scaled(BaseModel):
    id: str
    at: datetime
    value: int


def scale(reading: Reading) -> dict[str, Any]:
    """Row 13 gets a string where the output model says int: the table cannot take it."""
    value: Any = "thirteen" if reading.value == 13 else reading.value * 10
    return {"id": reading.id, "at": reading.at, "value": value}


def readings(count: int, start: int = 0, version: int = 0, hours: int = 1) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "type": "reading",
                "id": f"r{i}",
                "at": (START + timedelta(hours=i % hours, seconds=i)).isoformat(),
                "value": i,
                "version": version,
            }
        )
        for i in range(start, start + count)
    ]


class Lake:
    """An Iceberg sink config over one catalog, and a reader of its table."""

    def __init__(self, aws: AwsClients, unique: str, uri: str, **extra: Any) -> None:
        self.aws = aws
        bucket = f"ice-{unique}"
        aws.client("s3").create_bucket(Bucket=bucket)
        self.namespace = f"it_{unique}"
        self.sink: dict[str, Any] = {
            "type": "iceberg",
            "catalog": {"type": "sql", "uri": uri, "warehouse": f"s3://{bucket}/wh"},
            "namespace": self.namespace,
            **extra,
        }

    def catalog(self) -> Any:
        config = IcebergSinkConfig.model_validate(self.sink)
        return open_catalog(config, BuildContext(self.aws, Path.cwd()))

    def table(self, name: str = "readings") -> Any:
        return self.catalog().load_table(f"{self.namespace}.{name}")

    def rows(self, name: str = "readings") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.table(name).scan().to_arrow().to_pylist()
        return rows

    def ids(self, name: str = "readings") -> Counter[str]:
        return Counter(str(row["id"]) for row in self.rows(name))

    def commits(self, name: str = "readings") -> list[dict[str, str]]:
        table = self.table(name)
        return [
            dict(snapshot.summary.additional_properties)
            for snapshot in table.metadata.snapshots
            if snapshot.summary is not None and WRITER in snapshot.summary.additional_properties
        ]


@pytest.fixture()
def lake(aws: AwsClients, unique: str, tmp_path: Path) -> Lake:
    return Lake(aws, unique, f"sqlite:///{tmp_path / 'catalog.db'}")


def pipeline(
    lake: Lake, max_records: int = 5, route: dict[str, Any] | None = None
) -> PipelineConfig:
    return parse_config(
        {
            "name": "iceberg-it",
            "source": {"type": "kinesis", "stream": "unused"},
            "routes": [
                {
                    "name": "readings",
                    "record_type": "reading",
                    "schema": "tests.integration.iceberg_harness:Reading",
                    "sinks": ["lake"],
                    "key": "id",
                    "version_field": "version",
                    "partition": {"time_field": "at", "granularity": "hour"},
                    **(route or {}),
                }
            ],
            "sinks": {"lake": lake.sink},
            "quarantine": {"type": "memory"},
            "buffer": {"max_records": max_records, "max_age_s": 60.0},
            "retry": {"max_attempts": 2, "base_delay_s": 0.01},
            "metrics": {"sink": "off"},
        },
        "iceberg integration test",
    )


def deliver(
    parts: Assembly,
    payloads: Sequence[bytes],
    *,
    partition: str = "p",
    start: int = 0,
    crash: bool = False,
    stable: bool = True,
) -> list[Cut]:
    """The payloads through the engine as one source partition from position `start`;
    the cuts acked. With `crash`, the process 'dies' before its first ack."""
    acked: list[Cut] = []
    records = [
        Record("events", partition, Position(start + i), str(i), 1_765_000_000.0, data)
        for i, data in enumerate(payloads)
    ]
    source: Any = BoundedSource(
        "events", partition, records, acked.append, chunk=4, stable_positions=stable
    )
    if crash:
        source = CrashBeforeAck(source)
    Engine(source, parts.pipeline, parts.flusher, parts.batcher).run(until_idle=True)
    return acked


def staged_batch(parts: Assembly, stage: str, payloads: list[bytes], first: int) -> Batch:
    lines = [
        orjson.dumps(orjson.loads(p) | {"type": "reading"}, option=orjson.OPT_APPEND_NEWLINE)
        for p in payloads
    ]
    return Batch(
        "readings",
        "queue",
        "queue",
        "dt=2026-11-22/hr=13",
        Position(first),
        Position(first + len(lines) - 1),
        [],
        lines,
        stage=stage,
    )
