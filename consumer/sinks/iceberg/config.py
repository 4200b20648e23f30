"""The Iceberg sink's config: which catalog, which table, append or upsert.

Only pydantic here: the pipeline file is validated without importing pyiceberg, which is
loaded when the sink is built."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from consumer.sinks.base import BuildContext
    from consumer.sinks.iceberg.sink import IcebergSink


class SqlCatalogConfig(BaseModel):
    """pyiceberg's SQL catalog: table pointers in SQLite or PostgreSQL (demo, tests, a
    small deployment without Glue)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sql"] = "sql"
    uri: str = Field(
        description="SQLAlchemy URL: sqlite:///path (relative to the working directory) or "
        "postgresql://user@host/db"
    )
    warehouse: str = Field(description="where tables live: s3://bucket/prefix or a folder")

    def properties(self, base_dir: Path) -> dict[str, str]:
        uri = self.uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = f"sqlite:///{(base_dir / uri.removeprefix('sqlite:///')).resolve()}"
        if uri.startswith(("postgresql://", "postgres://")):  # psycopg 3, as the other sinks
            uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
        return {"uri": uri, "warehouse": _warehouse(self.warehouse, base_dir)}


class GlueCatalogConfig(BaseModel):
    """AWS Glue Data Catalog: what Athena, EMR and Redshift read (deployments)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["glue"] = "glue"
    warehouse: str = Field(description="s3://bucket/prefix new tables are created under")
    catalog_id: str | None = Field(None, description="account id of another account's catalog")

    def properties(self, base_dir: Path) -> dict[str, str]:
        found = {"warehouse": self.warehouse}
        if self.catalog_id:
            found["glue.id"] = self.catalog_id
        return found


CatalogConfig = Annotated[SqlCatalogConfig | GlueCatalogConfig, Field(discriminator="type")]


class IcebergSinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["iceberg"] = "iceberg"
    catalog: CatalogConfig
    namespace: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$", description="Glue database")
    table: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_]+$", description="the table; each route's own name when unset"
    )
    mode: Literal["append", "upsert"] = Field(
        "append",
        description="upsert: one row per route key, a newer version_field wins (copy on write)",
    )
    create_table: bool = Field(True, description="create the namespace and table when missing")
    evolve_schema: bool = Field(True, description="add columns the route's model gained")
    writer: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="who commits, recorded with the positions of each commit; the sink's "
        "name when unset. Two pipelines writing one table from one stream need two writers",
    )
    commit_attempts: int = Field(
        8, ge=1, le=100, description="commits tried when concurrent writers conflict"
    )
    table_properties: dict[str, str] = Field(
        default_factory=dict, description="set on tables sluice creates"
    )
    catalog_properties: dict[str, str] = Field(
        default_factory=dict, description="passed to pyiceberg's catalog (FileIO settings)"
    )

    def build(self, name: str, ctx: BuildContext) -> IcebergSink:
        from consumer.sinks.iceberg.sink import IcebergSink  # pyiceberg only when used

        return IcebergSink(name, self, ctx)


def _warehouse(location: str, base_dir: Path) -> str:
    if "://" in location:
        return location
    path = Path(location)
    return (path if path.is_absolute() else base_dir / path).resolve().as_uri()
