"""Open a route's Iceberg table: create it from the route's model with the partition spec
of its partition config, or add the columns the model gained since.

Partitioning is hidden, as Iceberg means it: `time_field` with `granularity = "hour"`
becomes `hour(time_field)` (`day` likewise), each of `fields` an identity partition. A
route partitioned by arrival time has no column to partition on: its table is not
partitioned. In upsert mode the route's key fields are the table's identifier fields.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    TableAlreadyExistsError,
)
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, HourTransform, IdentityTransform

from consumer.errors import ConfigError
from consumer.pipeline.partitioning import PartitionConfig

log = logging.getLogger(__name__)

DEFAULT_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
}


def open_table(
    catalog: Catalog,
    identifier: str,
    schema: pa.Schema,
    partition: PartitionConfig,
    keys: Sequence[str],
    *,
    create: bool,
    evolve: bool,
    properties: Mapping[str, str],
) -> Table:
    """The table, created or evolved as the config allows; ConfigError when it cannot
    take the route's rows (a column whose type changed)."""
    if create:
        _ensure_namespace(catalog, identifier.rsplit(".", 1)[0])
        table = _create(catalog, identifier, schema, partition, keys, properties)
    else:
        table = catalog.load_table(identifier)
    if evolve:
        table = _evolve(table, schema, identifier)
    return table


def _ensure_namespace(catalog: Catalog, namespace: str) -> None:
    if catalog.namespace_exists(namespace):
        return
    try:
        catalog.create_namespace(namespace)
    except NamespaceAlreadyExistsError:
        pass
    except Exception:  # the SQL catalog reports a race as its database's integrity error
        if not catalog.namespace_exists(namespace):
            raise


def _create(
    catalog: Catalog,
    identifier: str,
    schema: pa.Schema,
    partition: PartitionConfig,
    keys: Sequence[str],
    properties: Mapping[str, str],
) -> Table:
    if catalog.table_exists(identifier):
        return catalog.load_table(identifier)
    tx = catalog.create_table_transaction(
        identifier, schema=schema, properties={**DEFAULT_PROPERTIES, **properties}
    )
    spec_fields = partition_fields(schema, partition, identifier)
    if spec_fields:
        with tx.update_spec() as spec:
            for column, transform, name in spec_fields:
                spec.add_field(column, transform, name)
    if keys:
        with tx.update_schema() as update:
            update.set_identifier_fields(*keys)
    try:
        tx.commit_transaction()
        log.info("iceberg table created", extra={"table": identifier, "partition": spec_fields})
    except TableAlreadyExistsError:  # another task created it meanwhile
        pass
    except Exception:  # the same race, as the SQL catalog's database reports it
        if not catalog.table_exists(identifier):
            raise
    return catalog.load_table(identifier)


def partition_fields(
    schema: pa.Schema, partition: PartitionConfig, identifier: str
) -> list[tuple[str, Any, str]]:
    """(column, transform, partition field name) of the route's partition config."""
    found: list[tuple[str, Any, str]] = []
    if partition.time_field is not None:
        column = partition.time_field
        if column not in schema.names or not pa.types.is_timestamp(schema.field(column).type):
            raise ConfigError(
                f"{identifier}: partition time_field {column!r} is not a datetime column of "
                "the route's row model; Iceberg partitions by hour or day of a timestamp"
            )
        hourly = partition.granularity == "hour"
        transform: Any = HourTransform() if hourly else DayTransform()
        found.append((column, transform, f"{column}_{partition.granularity}"))
    for column in partition.fields:
        if column not in schema.names:
            raise ConfigError(f"{identifier}: partition field {column!r} is not a column")
        found.append((column, IdentityTransform(), column))
    return found


def _evolve(table: Table, schema: pa.Schema, identifier: str) -> Table:
    """Add the model's new columns (optional ones: old rows read them as null)."""
    current = {field.name for field in table.schema().fields}
    if set(schema.names) <= current:
        return table
    try:
        with table.update_schema() as update:
            update.union_by_name(schema)
    except CommitFailedException:  # another task evolved it first: read what it did
        table.refresh()
        return _evolve(table, schema, identifier)
    except ValueError as exc:
        raise ConfigError(f"{identifier}: the table cannot take the route's rows: {exc}") from exc
    log.info(
        "iceberg table evolved",
        extra={"table": identifier, "added": sorted(set(schema.names) - current)},
    )
    table.refresh()
    return table
