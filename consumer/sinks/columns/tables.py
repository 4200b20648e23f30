"""The lake tables of a pipeline's routes: each route's objects under each S3 sink, with
the columns of its row model (`sluice validate --ddl`)."""

from __future__ import annotations

from consumer.config import PipelineConfig
from consumer.errors import ConfigError
from consumer.pipeline.route import Route
from consumer.sinks.columns.ddl import LakeTable
from consumer.sinks.columns.route import route_shape
from consumer.sinks.s3 import S3SinkConfig


def lake_tables(config: PipelineConfig, route_name: str) -> list[LakeTable]:
    """One table per S3 sink of the route; ConfigError when the route is unknown, has no
    S3 sink, or names no row model to take columns from."""
    routes = {route.name: (index, route) for index, route in enumerate(config.routes)}
    if route_name not in routes:
        raise ConfigError(f"--ddl: no route {route_name!r} (routes: {', '.join(sorted(routes))})")
    index, route_config = routes[route_name]
    shape = Route(route_config, index).shape()
    tables = []
    for name in route_config.sinks:
        sink = config.sinks[name]
        if not isinstance(sink, S3SinkConfig):
            continue
        schema = route_shape(shape, name).schema
        prefix = "/".join(part for part in (sink.prefix.strip("/"), route_name) if part)
        suffix = "" if sink.format == "jsonl" else f"_{sink.format}"
        table = LakeTable(
            route_name + suffix, sink.bucket, prefix, sink.format, schema, route_config.partition
        )
        tables.append(table)
    if not tables:
        raise ConfigError(f"--ddl: route {route_name!r} writes to no S3 sink")
    return tables
