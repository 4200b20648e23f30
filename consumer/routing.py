"""Pick the route for a decoded record by its source and its record type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consumer.errors import ConfigError, RecordError
from consumer.route import Route


class Router:
    """Most specific match wins: (source, type), then type, then source, then a catch-all."""

    def __init__(self, routes: Sequence[Route], type_field: str | None) -> None:
        self.type_field = type_field
        self._table: dict[tuple[str | None, str | None], Route] = {}
        self._memo: dict[tuple[str, str | None], Route] = {}
        for index, route in enumerate(routes):
            key = (route.config.source, route.config.record_type)
            if key in self._table:
                raise ConfigError(
                    f"routes.{index}: matches the same records as route {self._table[key].name!r}"
                )
            self._table[key] = route
        if type_field is None and any(r.config.record_type for r in routes):
            raise ConfigError("router.type_field: required when a route sets record_type")

    def route(self, source: str, value: Any) -> Route:
        record_type = found = None
        if self.type_field is not None and isinstance(value, dict):
            found = value.get(self.type_field)
            record_type = found if isinstance(found, str) else None
        route = self._memo.get((source, record_type))
        if route is not None:
            return route
        table = self._table
        for key in ((source, record_type), (None, record_type), (source, None), (None, None)):
            route = table.get(key)
            if route is not None:
                if len(self._memo) < 10_000:  # record types are few; bound it all the same
                    self._memo[(source, record_type)] = route
                return route
        raise RecordError(
            "route",
            "UnknownRoute",
            f"no route for source={source!r} {self.type_field}={found!r}",
        )
