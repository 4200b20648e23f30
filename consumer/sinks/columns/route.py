"""A route's columns and row check, as a sink that writes columns binds them."""

from __future__ import annotations

from collections.abc import Iterable

from consumer.errors import ConfigError
from consumer.sinks.base import LineCheck, RouteShape
from consumer.sinks.columns.check import route_check
from consumer.sinks.columns.convert import Columns
from consumer.sinks.columns.schema import Shape, arrow_shape


def route_shape(route: RouteShape, sink: str, required: Iterable[str] = ()) -> Shape:
    """The Arrow shape of the route's rows; ConfigError when the route names no model."""
    if route.row_model is None:
        what = "the quarantine" if not route.name else f"route {route.name!r}"
        raise ConfigError(
            f"sinks.{sink}: {what} has no row model to take columns from: give the route "
            "an output_model, or annotate its transform's return type with a pydantic model"
            + (" (the quarantine is written as JSON Lines)" if not route.name else "")
        )
    return arrow_shape(route.row_model, required)


def bind_columns(
    route: RouteShape, sink: str, required: Iterable[str] = ()
) -> tuple[Columns, LineCheck | None]:
    shape = route_shape(route, sink, required)
    return Columns(shape.schema), route_check(shape, route.model_rows)
