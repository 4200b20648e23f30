"""The pyiceberg catalog a sink's config names, with S3 reached where boto3 reaches it
(`AWS_ENDPOINT_URL`: the embedded emulator or LocalStack) and the Glue client sluice
builds, so both honour the same endpoint and region."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pyiceberg.catalog import Catalog

from consumer.sinks.base import BuildContext
from consumer.sinks.iceberg.config import GlueCatalogConfig, IcebergSinkConfig
from consumer.testing.faults import crash_point

CATALOG_NAME = "sluice"
"""The SQL catalog keys its rows by catalog name: every process must use the same one."""


def file_io_properties(ctx: BuildContext) -> dict[str, str]:
    found = {"s3.region": ctx.aws.region}
    if ctx.aws.endpoint_url:
        found["s3.endpoint"] = ctx.aws.endpoint_url
    return found


def open_catalog(config: IcebergSinkConfig, ctx: BuildContext) -> Catalog:
    properties = {
        **file_io_properties(ctx),
        **config.catalog.properties(ctx.base_dir),
        **config.catalog_properties,
    }
    catalog: Catalog
    if isinstance(config.catalog, GlueCatalogConfig):
        from pyiceberg.catalog.glue import GlueCatalog

        catalog = GlueCatalog(CATALOG_NAME, client=ctx.aws.client("glue"), **properties)
    else:
        from pyiceberg.catalog.sql import SqlCatalog

        catalog = SqlCatalog(CATALOG_NAME, **properties)
    if os.environ.get("SLUICE_CRASH_AT", "").startswith("iceberg_"):
        _crash_after_metadata_write(catalog)
    return catalog


def _crash_after_metadata_write(catalog: Catalog) -> None:
    """The reliability suite's crash point between a commit's new metadata file and the
    catalog's pointer to it (consumer/testing/faults.py); installed only when asked for."""
    write: Callable[..., None] = getattr(catalog, "_write_metadata")  # noqa: B009

    def written(metadata: Any, io: Any, metadata_path: str) -> None:
        write(metadata, io, metadata_path)
        crash_point("iceberg_after_metadata_write")

    setattr(catalog, "_write_metadata", written)  # noqa: B010
