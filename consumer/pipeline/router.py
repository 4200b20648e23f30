"""Pick the route for a decoded record by its source and its record type."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from consumer.errors import ConfigError, RecordError
from consumer.pipeline.route import Route

_MEMO_LIMIT = 10_000


class Router:
    """Most specific match wins: (source, type), then type, then source, then a catch-all."""

    def __init__(self, routes: Sequence[Route], type_field: str | None) -> None:
        self.type_field = type_field
        self._table: dict[tuple[str | None, str | None], Route] = {}
        self._memo: dict[tuple[str, str | None], Route] = {}
        self._peeked: dict[tuple[str, bytes], tuple[Route, str] | None] = {}
        """`peek`'s answer per source and raw type value, misses included."""
        for index, route in enumerate(routes):
            key = (route.config.source, route.config.record_type)
            if key in self._table:
                raise ConfigError(
                    f"routes.{index}: matches the same records as route {self._table[key].name!r}"
                )
            self._table[key] = route
        if type_field is None and any(r.config.record_type for r in routes):
            raise ConfigError("router.type_field: required when a route sets record_type")
        self._peek = (
            re.compile(rb'"' + re.escape(type_field.encode()) + rb'"\s*:\s*"([^"\\]{1,200})"')
            if type_field is not None
            else None
        )

    def peek(self, source: str, data: bytes) -> tuple[Route, str | None] | None:
        """The route a JSON record most likely takes and the type value that picked it,
        read from its bytes without parsing them; None when that is not cheap to tell.

        Without a type field the source alone decides, so the answer is exact. With one,
        it is a guess: the first `"type": "..."` in the bytes may be a nested field.
        `Pipeline` accepts the guess only when the validated model was given that same
        value in its own top-level field, and takes the full path otherwise.
        """
        if self._peek is None:
            route = self._table.get((source, None)) or self._table.get((None, None))
            return None if route is None else (route, None)
        found = self._peek.search(data)
        if found is None:
            return None
        key = (source, found.group(1))
        if key in self._peeked:
            return self._peeked[key]
        peeked = self._peek_type(source, key[1])
        if len(self._peeked) < _MEMO_LIMIT:
            self._peeked[key] = peeked
        return peeked

    def _peek_type(self, source: str, raw: bytes) -> tuple[Route, str] | None:
        try:
            record_type = raw.decode()
            return self.route(source, {self.type_field: record_type}), record_type
        except (RecordError, UnicodeDecodeError):
            return None

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
                if len(self._memo) < _MEMO_LIMIT:  # record types are few; bound it all the same
                    self._memo[(source, record_type)] = route
                return route
        raise RecordError(
            "route",
            "UnknownRoute",
            f"no route for source={source!r} {self.type_field}={found!r}",
        )
