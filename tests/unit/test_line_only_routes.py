"""Routes whose sinks read only lines (S3) skip the row dict: same lines, same partitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, Field

from consumer.aws.clients import AwsClients
from consumer.config import parse_config
from consumer.delivery.assembly import assemble
from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router


class Event(BaseModel):
    type: str
    id: int
    at: Any  # a datetime string, an epoch number, or a naive/offset time
    region: str = "eu"


class Aliased(BaseModel):
    type: str
    id: int
    when: Any = Field(alias="at")


def _pair(schema: str, partition: dict[str, Any]) -> tuple[Pipeline, Pipeline]:
    spec = {"name": "events", "schema": schema, "sinks": ["lake"], "partition": partition}
    route = Route(RouteConfig.model_validate(spec), 0)
    router = Router([route], None)
    rows = Pipeline(Decoder(DecodeConfig()), [route], router)
    lines = Pipeline(Decoder(DecodeConfig()), [route], router, None, {"events"})
    return rows, lines


@pytest.mark.parametrize(
    "at",
    [
        '"2026-11-22T13:05:00Z"',
        '"2026-11-22T15:05:00+02:00"',
        '"2026-11-22T13:05:00"',
        "1795000000",
    ],
)
@pytest.mark.parametrize(
    ("schema", "partition"),
    [
        ("Event", {"time_field": "at"}),
        ("Event", {"time_field": "at", "granularity": "day"}),
        ("Event", {"time_field": "at", "fields": ["region"]}),
        ("Event", {}),
        ("Aliased", {"time_field": "when"}),
    ],
)
def test_the_same_lines_and_partitions_with_or_without_rows(
    at: str, schema: str, partition: dict[str, Any]
) -> None:
    rows, lines = _pair(f"tests.unit.test_line_only_routes:{schema}", partition)
    data = f'{{"type": "e", "id": 7, "at": {at}}}'.encode()
    record = Record("s", "p", Position(1), "k", 1_795_000_000.0, data)
    (with_row,), quarantined = rows.process(record)
    (without,), _ = lines.process(record)
    assert not quarantined, with_row.row
    assert (without.line, without.output_partition) == (with_row.line, with_row.output_partition)
    assert orjson.loads(with_row.line) == with_row.row


def test_an_unreadable_time_is_still_quarantined_on_the_line_only_path() -> None:
    _, lines = _pair("tests.unit.test_line_only_routes:Event", {"time_field": "at"})
    record = Record("s", "p", Position(1), "k", 0.0, b'{"type": "e", "id": 7, "at": "soon"}')
    (item,), quarantined = lines.process(record)
    assert quarantined and item.row["error_type"] == "BadPartitionValue"


def test_assembly_skips_rows_only_where_every_sink_writes_lines(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "lines",
            "source": {"type": "kinesis", "stream": "s"},
            "routes": [
                {
                    "name": "lake_only",
                    "record_type": "a",
                    "schema": f"{__name__}:Event",
                    "sinks": ["lake"],
                },
                {
                    "name": "both",
                    "record_type": "b",
                    "schema": f"{__name__}:Event",
                    "sinks": ["lake", "db"],
                    "key": "id",
                },
                {  # quality checks read the batch's rows
                    "name": "checked",
                    "record_type": "c",
                    "schema": f"{__name__}:Event",
                    "sinks": ["lake"],
                    "quality": {"checks": [{"name": "id", "kind": "completeness", "field": "id"}]},
                },
            ],
            "sinks": {
                "lake": {"type": "s3", "bucket": "bucket"},
                "db": {"type": "sqlite", "path": str(tmp_path / "x.db")},
            },
            "quarantine": {"type": "s3", "bucket": "bucket"},
        },
        "test",
    )
    parts = assemble(
        config, AwsClients(region="us-east-1", endpoint_url="http://127.0.0.1:9"), tmp_path
    )
    try:
        assert parts.pipeline._line_only == {"lake_only"}
    finally:
        parts.close()
