"""`sluice validate --ddl`: a route's JSON Lines and Parquet objects as Athena tables with
partition projection, and as the Terraform's `lake_tables` entry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from pydantic import BaseModel, Field

from consumer.cli.main import main
from consumer.pipeline.partitioning import PartitionConfig
from consumer.sinks.columns.ddl import LakeTable, athena_ddl, hive_type, terraform_entry
from consumer.sinks.columns.schema import arrow_shape

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clickstream" / "pipeline.toml"


class Inner(BaseModel):
    day: dt.date
    tags: list[str]


class Row(BaseModel):
    id: str
    n: int
    at: dt.datetime
    price: Decimal = Field(max_digits=10, decimal_places=2)
    inner: Inner
    blob: bytes
    ok: bool
    ratio: float


def _table(**partition: object) -> LakeTable:
    schema = arrow_shape(Row).schema
    config = PartitionConfig.model_validate(partition)
    return LakeTable("rows", "lake-bucket", "lake/rows", "parquet", schema, config)


def test_columns_take_hive_types() -> None:
    types = {f.name: hive_type(f.type) for f in arrow_shape(Row).schema}
    assert types == {
        "id": "string",
        "n": "bigint",
        "at": "timestamp",
        "price": "decimal(10,2)",
        "inner": "struct<day:date,tags:array<string>>",
        "blob": "binary",
        "ok": "boolean",
        "ratio": "double",
    }


def test_partitions_are_projected_onto_the_sinks_folders() -> None:
    hourly = _table(time_field="at", granularity="hour", fields=["region code"])
    assert hourly.partition_keys() == ["dt", "hr", "region%20code"]
    projection = hourly.projection()
    assert projection["storage.location.template"] == (
        "s3://lake-bucket/lake/rows/dt=${dt}/hr=${hr}/region%20code=${region%20code}"
    )
    assert projection["projection.hr.digits"] == "2"
    assert projection["projection.region%20code.type"] == "injected"
    daily = _table(time_field="at", granularity="day")
    assert daily.partition_keys() == ["dt"] and "projection.hr.type" not in daily.projection()


def test_the_athena_ddl_names_columns_partitions_serde_and_location() -> None:
    ddl = athena_ddl(_table(time_field="at"), "lake_db")
    assert ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `lake_db`.`rows` (")
    assert "  `inner` struct<day:date,tags:array<string>>," in ddl
    assert "PARTITIONED BY (`dt` string, `hr` string)" in ddl
    assert "STORED AS PARQUET" in ddl and "LOCATION 's3://lake-bucket/lake/rows/'" in ddl
    assert "'projection.enabled'='true'" in ddl
    entry = terraform_entry(_table(time_field="at"))
    assert entry["prefix"] == "lake/rows" and entry["granularity"] == "hour"
    assert entry["columns"][0] == {"name": "id", "type": "string"}


def test_validate_prints_the_ddl_of_a_routes_s3_sinks(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the example's purchases route is asked for (JSON Lines and Parquet sinks)
    assert main(["validate", "--config", str(EXAMPLE), "--ddl", "purchases"]) == 0
    ddl = capsys.readouterr().out
    # THEN both tables are printed, each with its format and folder
    assert "`sluice_lake`.`purchases` (" in ddl and "`sluice_lake`.`purchases_parquet` (" in ddl
    assert "org.openx.data.jsonserde.JsonSerDe" in ddl and "STORED AS PARQUET" in ddl
    assert "LOCATION 's3://sluice-demo-lake/parquet/purchases/'" in ddl
    assert "  `total` decimal(14,2)" in ddl
    args = ["validate", "--config", str(EXAMPLE), "--ddl", "purchases", "--ddl-format", "terraform"]
    assert main(args) == 0
    entries = orjson.loads(capsys.readouterr().out)
    assert set(entries) == {"purchases", "purchases_parquet"}


def test_validate_refuses_an_unknown_route(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(EXAMPLE), "--ddl", "orders"]) == 2
    assert "no route 'orders'" in capsys.readouterr().err
