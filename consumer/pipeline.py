"""The per-record path: decode, route, validate, transform, partition, encode.

`Pipeline.process` never raises for a bad record: a `RecordError` at any stage turns the
record into one quarantine item carrying the error envelope. A record's rows are produced
all together or not at all, so a transform that fails half-way leaves no partial output.
Sinks may check each row (stage ``load``): a value a sink cannot store exactly, such as a
NUL character for PostgreSQL, is quarantined here, before it could fail a whole flush.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

from consumer.decode import Decoder
from consumer.errors import RecordError
from consumer.partitioning import PartitionConfig, Partitioner
from consumer.quarantine import QUARANTINE_ROUTE, envelope
from consumer.record import Record
from consumer.route import Route
from consumer.routing import Router
from consumer.sinks.base import RowCheck

_ENCODE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
_QUARANTINE_PARTITIONER = Partitioner(PartitionConfig())


@dataclass(slots=True)
class Item:
    """One output row bound for one buffer (route and output partition)."""

    route: str
    output_partition: str
    row: dict[str, Any]
    line: bytes


class Pipeline:
    def __init__(
        self,
        decoder: Decoder,
        routes: Sequence[Route],
        router: Router,
        row_checks: Mapping[str, Sequence[RowCheck]] | None = None,
    ) -> None:
        self.decoder = decoder
        self.routes = {route.name: route for route in routes}
        self.router = router
        self.row_checks = {
            name: tuple(checks) for name, checks in (row_checks or {}).items() if checks
        }

    def process(self, record: Record) -> tuple[list[Item], bool]:
        """Items for `record` and whether it was quarantined."""
        route: Route | None = None
        try:
            value = self.decoder.decode(record.data)
            route = self.router.route(record.source, value)
            model = route.validate(value)
            if route.identity:
                return [self._model_item(route, model, record)], False
            rows = route.transform(model)
            return [self._item(route, row, record) for row in rows], False
        except RecordError as error:
            return [self.quarantine_item(record, error, route)], True

    def _model_item(self, route: Route, model: BaseModel, record: Record) -> Item:
        """A route without a transform writes the model as pydantic serializes it to JSON:
        every field type is JSON-safe (Decimal, UUID, sets...), and it is the fastest
        encoder; the row sinks see is that JSON parsed back."""
        line = model.__pydantic_serializer__.to_json(model) + b"\n"
        return self._checked(route, orjson.loads(line), line, record)

    def _item(self, route: Route, row: dict[str, Any], record: Record) -> Item:
        try:
            line = orjson.dumps(row, option=_ENCODE)
        except TypeError as exc:
            raise RecordError("transform", "UnserializableRow", str(exc)) from None
        return self._checked(route, row, line, record)

    def _checked(self, route: Route, row: dict[str, Any], line: bytes, record: Record) -> Item:
        partition = route.partitioner.partition(row, record.arrival_time)
        checks = self.row_checks.get(route.name)
        if checks:
            for check in checks:
                reason = check(row, line)
                if reason is not None:
                    raise RecordError("load", "UnstorableValue", reason)
        return Item(route.name, partition, row, line)

    @staticmethod
    def quarantine_item(record: Record, error: RecordError, route: Route | None) -> Item:
        row = envelope(record, error, route.name if route else None)
        partition = _QUARANTINE_PARTITIONER.partition(row, record.arrival_time)
        return Item(QUARANTINE_ROUTE, partition, row, orjson.dumps(row, option=_ENCODE))
