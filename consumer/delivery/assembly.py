"""Assemble the data path from a config: routes, sinks (the quarantine included),
pipeline, flusher and a batcher factory. The consumer service, the batch jobs and the KCL
child all use this one assembly, so they run exactly the same pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.delivery.buffer import PartitionBatcher
from consumer.delivery.flush import Flusher
from consumer.flow import RouteKeys
from consumer.pipeline.decode import Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.quarantine import QUARANTINE_ROUTE
from consumer.pipeline.route import Route
from consumer.pipeline.router import Router
from consumer.quality.gate import RouteQuality
from consumer.sinks.base import BuildContext, LineCheck, RouteShape, Sink
from consumer.sinks.tables import check_tables


@dataclass
class Assembly:
    routes: list[Route]
    sinks: dict[str, Sink]  # by name, "quarantine" included
    pipeline: Pipeline
    flusher: Flusher
    batcher_options: dict[str, Any]

    def batcher(self, source: str, partition: str) -> PartitionBatcher:
        """Buffers for one source partition, with the routes' limits and keys."""
        return PartitionBatcher(source, partition, **self.batcher_options)

    def close(self) -> None:
        self.flusher.close()
        self.pipeline.close()
        for sink in self.sinks.values():
            sink.close()


def assemble(config: PipelineConfig, aws: AwsClients, base_dir: Path) -> Assembly:
    ctx = BuildContext(aws=aws, base_dir=base_dir)
    routes = [Route(route_config, index) for index, route_config in enumerate(config.routes)]
    check_tables(config, routes)  # what would block a shard, refused before it runs
    sinks: dict[str, Sink] = {name: cfg.build(name, ctx) for name, cfg in config.sinks.items()}
    quarantine = config.quarantine.build("quarantine", ctx)
    sinks_by_route: dict[str, list[Sink]] = {
        route.name: [sinks[name] for name in route.config.sinks] for route in routes
    }
    sinks_by_route[QUARANTINE_ROUTE] = [quarantine]
    shapes = {route.name: route.shape() for route in routes}
    shapes[QUARANTINE_ROUTE] = RouteShape(QUARANTINE_ROUTE, None)
    row_checks = {
        route: [check for sink in route_sinks if (check := sink.bind(shapes[route])) is not None]
        for route, route_sinks in sinks_by_route.items()
    }
    line_only = {  # routes that need no row dicts: checks of lines only, no quality gate, S3
        route.name
        for route in routes
        if all(isinstance(check, LineCheck) for check in row_checks[route.name])
        and route.config.quality is None
        and not any(sink.reads_rows for sink in sinks_by_route[route.name])
    }
    router = Router(routes, config.router.type_field)
    pipeline = Pipeline(Decoder(config.decode), routes, router, row_checks, line_only)
    batcher_options: dict[str, Any] = {
        "default_limits": config.buffer,
        "route_limits": {r.name: r.config.buffer for r in routes if r.config.buffer},
        "route_keys": {
            r.name: RouteKeys(r.config.key, r.config.version_field, r.column_types, r.config.table)
            for r in routes
        },
    }
    quality = {
        route.name: RouteQuality(route.name, route.config.quality, f"routes.{index}.quality")
        for index, route in enumerate(routes)
        if route.config.quality is not None
    }
    flusher = Flusher(sinks_by_route, config.retry, quality=quality)
    return Assembly(routes, {**sinks, "quarantine": quarantine}, pipeline, flusher, batcher_options)
