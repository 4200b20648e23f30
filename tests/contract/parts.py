"""What the contract tests share: a small pipeline over memory sinks, its effect read as
S3 (one object per key, a replay overwrites) and as a database (one row per id)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig, parse_config
from consumer.delivery.assembly import Assembly, assemble
from consumer.flow import Cut
from consumer.sinks.memory import ListSink
from consumer.sinks.s3 import object_key
from consumer.sources.base import Source


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["item"] = "item"
    id: str
    n: int


def config(
    source: dict[str, Any], max_records: int = 5, lake: dict[str, Any] | None = None
) -> PipelineConfig:
    """The contract pipeline; `lake` is the config of the sink under test (memory else)."""
    raw: dict[str, Any] = {
        "name": "contract",
        "source": source,
        "routes": [
            {
                "name": "items",
                "record_type": "item",
                "schema": "tests.contract.parts:Item",
                "sinks": ["lake", "db"],
                "key": "id",
            }
        ],
        "sinks": {
            "lake": lake or {"type": "memory"},
            "db": {"type": "memory", "stages": False},  # as a database: upserts, no staging
        },
        "quarantine": {"type": "memory"},
        "buffer": {"max_records": max_records, "max_age_s": 60.0},
        "retry": {"max_attempts": 1},
        "metrics": {"sink": "off"},
    }
    return parse_config(raw, "contract test")


def build(pipeline: PipelineConfig, aws: AwsClients, tmp_path: Path) -> Assembly:
    return assemble(pipeline, aws, tmp_path)


def bodies(count: int, start: int = 0) -> list[bytes]:
    return [
        orjson.dumps({"type": "item", "id": f"i{i}", "n": i}) for i in range(start, start + count)
    ]


def sink(parts: Assembly, name: str) -> ListSink:
    found = parts.sinks[name]
    assert isinstance(found, ListSink)
    return found


def object_ids(parts: Assembly, name: str = "lake") -> Counter[str]:
    """Ids across the sink's objects as S3 would hold them: the last write of a key wins."""
    objects = {object_key("", batch): batch.rows for batch in sink(parts, name).batches}
    return Counter(str(row["id"]) for rows in objects.values() for row in rows)


def row_ids(parts: Assembly, name: str = "db") -> set[str]:
    """Ids as a database holds them: upserts by key."""
    return {str(row["id"]) for row in sink(parts, name).rows}


class Crashed(Exception):
    """The process died between the sinks' confirmation and the ack."""


class CrashBeforeAck:
    """A source whose first ack never happens: the process dies right before it."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def ack(self, cut: Cut) -> bool:
        raise Crashed(f"crash before acking {cut.partition} up to {cut.last}")
