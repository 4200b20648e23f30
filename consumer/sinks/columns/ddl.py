"""The catalog entry of a route's objects in the plain lake: the Athena DDL of a table over
its JSON Lines or Parquet objects, with partition projection (no crawler, no MSCK REPAIR),
and the same table as the Terraform module `lake_catalog` takes it (`lake_tables`).

Columns come from the route's row model (consumer/sinks/columns/schema.py), in Hive's
type names. The partitions are the S3 sink's Hive-style folders: `dt` (a date) and, for
hourly routes, `hr` (00 to 23), then each of the route's partition `fields` (injected:
a query names their value). Iceberg tables need none of this: sluice creates them in the
catalog itself, with their own partitioning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from consumer.pipeline.partitioning import PartitionConfig, sanitize

PROJECTION_START = "2024-01-01"
"""The first day a date projection lists; a query's `dt` predicate narrows it."""
SERDES = {
    "jsonl": (
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'"
    ),
    "parquet": "STORED AS PARQUET",
}


def hive_type(kind: pa.DataType) -> str:
    """Hive's (Athena's, Glue's) name for an Arrow type of a sluice schema."""
    if pa.types.is_struct(kind):
        return "struct<" + ",".join(f"{f.name}:{hive_type(f.type)}" for f in kind) + ">"
    if pa.types.is_list(kind):
        return f"array<{hive_type(kind.value_type)}>"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    for test, name in _SCALARS:
        if test(kind):
            return name
    raise TypeError(f"no Hive type for {kind}")  # pragma: no cover - schema.py makes no other


_SCALARS = (
    (pa.types.is_string, "string"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_float64, "double"),
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_date32, "date"),
    (pa.types.is_binary, "binary"),
)


@dataclass(frozen=True)
class LakeTable:
    """One route's objects under one S3 sink, as a table."""

    name: str
    bucket: str
    prefix: str
    """The route's folder: the sink's prefix and the route's name."""
    format: str
    schema: pa.Schema
    partition: PartitionConfig

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"

    def partition_keys(self) -> list[str]:
        hourly = self.partition.granularity == "hour"
        return ["dt", *(["hr"] if hourly else []), *map(sanitize, self.partition.fields)]

    def projection(self) -> dict[str, str]:
        found = {
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": f"{PROJECTION_START},NOW",
            "projection.dt.interval": "1",
            "projection.dt.interval.unit": "DAYS",
        }
        if self.partition.granularity == "hour":
            found |= {
                "projection.hr.type": "integer",
                "projection.hr.range": "0,23",
                "projection.hr.digits": "2",
            }
        for key in map(sanitize, self.partition.fields):
            found[f"projection.{key}.type"] = "injected"
        template = "/".join(f"{key}=${{{key}}}" for key in self.partition_keys())
        found["storage.location.template"] = f"{self.location}{template}"
        return found


def athena_ddl(table: LakeTable, database: str) -> str:
    columns = ",\n".join(f"  `{f.name}` {hive_type(f.type)}" for f in table.schema)
    keys = ", ".join(f"`{key}` string" for key in table.partition_keys())
    properties = ",\n".join(f"  '{k}'='{v}'" for k, v in table.projection().items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table.name}` (\n{columns}\n)\n"
        f"PARTITIONED BY ({keys})\n{SERDES[table.format]}\n"
        f"LOCATION '{table.location}'\nTBLPROPERTIES (\n{properties}\n);\n"
    )


def terraform_entry(table: LakeTable) -> dict[str, Any]:
    """The table as the `lake_tables` variable of infra/terraform takes it."""
    return {
        "prefix": table.prefix,
        "format": table.format,
        "granularity": table.partition.granularity,
        "fields": [sanitize(field) for field in table.partition.fields],
        "columns": [{"name": f.name, "type": hive_type(f.type)} for f in table.schema],
    }
