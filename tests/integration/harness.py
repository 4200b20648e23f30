"""A small pipeline for integration tests, and helpers to run it against the emulator.

Every produced record has a unique `id`, a `key` and a per-key `seq`, so the read-back can
tell lost, duplicated and out-of-order records apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig, parse_config
from consumer.local.emulator import provision
from consumer.local.producer import put_all
from consumer.runtime.service import Service, build_service
from consumer.sinks.s3 import iter_objects
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.reader import KinesisSource


class Reading(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = "reading"
    id: str
    key: str
    seq: int = Field(ge=0)
    value: float


def reading_row(reading: Reading) -> dict[str, Any]:
    return {"id": reading.id, "key": reading.key, "seq": reading.seq, "value": reading.value}


REPO = Path(__file__).resolve().parents[2]
TRANSFORMS: dict[str, Any] = {
    # the same rows, from a Python function and from a Node.js command (docs/external-transforms.md)
    "python": "tests.integration.harness:reading_row",
    "node": {"command": ["node", str(REPO / "examples" / "node-transform" / "readings.js")]},
}


def make_config(
    unique: str, db_path: Path, transform: str = "python", **buffer: Any
) -> PipelineConfig:
    raw: dict[str, Any] = {
        "name": f"it-{unique}",
        "source": {
            "type": "kinesis",
            "stream": f"stream-{unique}",
            "checkpoint_table": f"ckpt-{unique}",
            "idle_poll_interval_s": 0.2,
            "shard_sync_interval_s": 1.0,
        },
        "routes": [
            {
                "name": "readings",
                "record_type": "reading",
                "schema": "tests.integration.harness:Reading",
                "transform": TRANSFORMS[transform],
                "sinks": ["lake", "db"],
                "key": "id",
                "version_field": "seq",
            }
        ],
        "sinks": {
            "lake": {"type": "s3", "bucket": f"lake-{unique}", "prefix": "lake"},
            "db": {"type": "sqlite", "path": str(db_path)},
        },
        "quarantine": {"type": "s3", "bucket": f"lake-{unique}", "prefix": "quarantine"},
        "buffer": {"max_records": 50, "max_age_s": 0.5, **buffer},
        "decode": {"max_record_bytes": 262_144},
        "metrics": {"sink": "file", "path": str(db_path.parent / "metrics.jsonl")},
        "emulator": {"shard_count": 2},
    }
    return parse_config(raw, "integration test")


def reading(index: int, keys: int = 10) -> tuple[str, bytes]:
    key = f"k{index % keys}"
    body = {
        "type": "reading",
        "id": f"r{index}",
        "key": key,
        "seq": index // keys,
        "value": index / 10,
    }
    return key, orjson.dumps(body)


@dataclass
class Harness:
    config: PipelineConfig
    aws: AwsClients
    base_dir: Path

    @classmethod
    def create(
        cls, aws: AwsClients, unique: str, tmp_path: Path, transform: str = "python", **buffer: Any
    ) -> Harness:
        config = make_config(unique, tmp_path / "it.db", transform, **buffer)
        provision(config, aws)
        return cls(config, aws, tmp_path)

    @property
    def stream(self) -> str:
        source = self.config.source
        assert isinstance(source, KinesisSourceConfig)
        return source.stream

    def put(self, records: list[tuple[str, bytes]]) -> None:
        put_all(self.aws.client("kinesis"), self.stream, records)

    def deliver(self, records: list[tuple[str, bytes]], mode: str) -> None:
        """Run `records` through the pipeline: streamed (Kinesis, the polling reader) or as
        a batch job (`backfill`, one JSON Lines object per partition key under `in/`, the
        records' source named like the stream). Either way every record ends up in the
        lake, the database or the quarantine."""
        if mode == "stream":
            self.put(records)
            self.run()
            return
        from batch_jobs.registry import run_job

        bucket = f"lake-{self.config.name.removeprefix('it-')}"
        by_key: dict[str, list[bytes]] = {}
        for key, data in records:
            by_key.setdefault(key, []).append(data)
        s3 = self.aws.client("s3")
        for key, lines in by_key.items():
            s3.put_object(Bucket=bucket, Key=f"in/{key}.jsonl", Body=b"\n".join(lines))
        params = {"bucket": bucket, "prefix": "in/", "source": self.stream}
        run_job("backfill", params, self.config, self.aws, (0, 1), self.base_dir)

    def service(self) -> Service:
        return build_service(self.config, self.base_dir, self.aws)

    def run(self, max_runtime_s: float = 60.0) -> Service:
        service = self.service()
        try:
            service.run(until_idle=True, max_runtime_s=max_runtime_s)
        finally:
            service.close()
        return service

    def lake_ids(self) -> Counter[str]:
        return self._ids("lake", "id")

    def quarantine_keys(self) -> Counter[str]:
        return self._ids("quarantine", "partition_key")

    def quarantine_rows(self) -> list[dict[str, Any]]:
        bucket = f"lake-{self.config.name.removeprefix('it-')}"
        s3 = self.aws.client("s3")
        return [row for _, rows in iter_objects(s3, bucket, "quarantine") for row in rows]

    def lake_rows(self) -> list[dict[str, Any]]:
        """Rows of every lake object, objects in (shard, first position) order."""
        bucket = f"lake-{self.config.name.removeprefix('it-')}"
        s3 = self.aws.client("s3")
        objects = sorted(iter_objects(s3, bucket, "lake"), key=lambda item: _position(item[0]))
        return [row for _, rows in objects for row in rows]

    def lake_rows_by_shard(self) -> dict[str, list[dict[str, Any]]]:
        bucket = f"lake-{self.config.name.removeprefix('it-')}"
        by_shard: dict[str, list[dict[str, Any]]] = {}
        for key, rows in iter_objects(self.aws.client("s3"), bucket, "lake"):
            by_shard.setdefault(_position(key)[0], []).extend(rows)
        return by_shard

    def _ids(self, prefix: str, field: str) -> Counter[str]:
        bucket = f"lake-{self.config.name.removeprefix('it-')}"
        s3 = self.aws.client("s3")
        return Counter(
            str(row[field]) for _, rows in iter_objects(s3, bucket, prefix) for row in rows
        )

    def db_ids(self) -> Counter[str]:
        import sqlite3

        conn = sqlite3.connect(self.base_dir / "it.db")
        try:
            return Counter(str(row[0]) for row in conn.execute('SELECT "id" FROM readings'))
        finally:
            conn.close()


def _position(key: str) -> tuple[str, int, int]:
    """(shard, sequence, sub) from `.../{stream}.{shard}.{sequence}-{sub}.jsonl.gz`."""
    _, shard, position = key.rsplit("/", 1)[1].removesuffix(".jsonl.gz").rsplit(".", 2)
    sequence, sub = position.split("-")
    return shard, int(sequence), int(sub)


def kinesis_reader(service: Service) -> KinesisSource:
    assert isinstance(service.source, KinesisSource)
    return service.source
