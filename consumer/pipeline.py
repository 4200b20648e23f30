"""The per-record path: decode, route, validate, transform, partition, encode.

`Pipeline.process` never raises for a bad record: a `RecordError` at any stage turns the
record into one quarantine item carrying the error envelope. A record's rows are produced
all together or not at all, so a transform that fails half-way leaves no partial output.
Sinks may check each row (stage ``load``): a value a sink cannot store exactly, such as a
NUL character for PostgreSQL, is quarantined here, before it could fail a whole flush.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
from consumer.transforms.external import Outcome, Rejected

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
        line_only: Collection[str] = (),
    ) -> None:
        self.decoder = decoder
        self.routes = {route.name: route for route in routes}
        self.router = router
        self.row_checks = {
            name: tuple(checks) for name, checks in (row_checks or {}).items() if checks
        }
        self._direct = {route.name for route in routes if _direct_ok(route, router.type_field)}
        self._line_only = frozenset(line_only)
        """Routes whose sinks read only the encoded lines (S3): no row dict is built."""

    def process(self, record: Record) -> tuple[list[Item], bool]:
        """Items for `record` and whether it was quarantined."""
        return self.process_many([record])[0]

    def process_many(self, records: Sequence[Record]) -> list[tuple[list[Item], bool]]:
        """`process` for each record, in order; records of routes with an external transform
        go to their command together, one batch per route."""
        results: list[tuple[list[Item], bool]] = []
        waiting: dict[str, list[tuple[int, BaseModel, Record]]] = {}
        for index, record in enumerate(records):
            route: Route | None = None
            try:
                route, model, value = self._routed(record)
                if model is None:
                    model = route.validate(value)
                if route.external is not None:
                    waiting.setdefault(route.name, []).append((index, model, record))
                    results.append(([], False))  # filled in below
                    continue
                results.append((self._items(route, model, record), False))
            except RecordError as error:
                results.append(([self.quarantine_item(record, error, route)], True))
        for name, entries in waiting.items():
            route = self.routes[name]
            assert route.external is not None
            outcomes = route.external.run([_json(model) for _, model, _ in entries])
            for (index, _, record), outcome in zip(entries, outcomes, strict=True):
                results[index] = self._external_items(route, outcome, record)
        return results

    def close(self) -> None:
        for route in self.routes.values():
            route.close()

    def _routed(self, record: Record) -> tuple[Route, BaseModel | None, Any]:
        """The route and, on the fast path, the model; else the decoded value to validate
        (the route is known before validation can fail, for the quarantine envelope)."""
        direct = self._validate_direct(record.data, record.source)
        if direct is not None:
            return direct[0], direct[1], None
        value = self.decoder.decode(record.data)
        return self.router.route(record.source, value), None, value

    def _items(self, route: Route, model: BaseModel, record: Record) -> list[Item]:
        if route.identity:
            return [self._model_item(route, model, record)]
        return [self._item(route, row, record) for row in route.transform(model)]

    def _external_items(
        self, route: Route, outcome: Outcome, record: Record
    ) -> tuple[list[Item], bool]:
        try:
            if isinstance(outcome, Rejected):
                raise RecordError("transform", outcome.error_type, outcome.reason)
            return [self._item(route, row, record) for row in outcome], False
        except RecordError as error:
            return [self.quarantine_item(record, error, route)], True

    def _validate_direct(self, data: bytes, source: str) -> tuple[Route, BaseModel] | None:
        """The fast path for the common case, a plain JSON record that validates: pydantic
        parses and validates its bytes in one pass, with no intermediate Python objects.
        Its result is exactly what the full path would give; any doubt (limits, routing,
        a validation error) returns None and the full path names the error."""
        if not self.decoder.plain(data):
            return None
        peeked = self.router.peek(source, data)
        if peeked is None or peeked[0].name not in self._direct:
            return None
        route, record_type = peeked
        model = route.validate_json(data)
        if model is None:
            return None
        if record_type is not None:
            field = self.router.type_field
            if field not in model.model_fields_set or getattr(model, field) != record_type:
                return None  # picked by a nested field: the full path routes it
        return route, model

    def _model_item(self, route: Route, model: BaseModel, record: Record) -> Item:
        """A route without a transform writes the model as pydantic serializes it to JSON:
        every field type is JSON-safe (Decimal, UUID, sets...), and it is the fastest
        encoder; the row sinks see is that JSON parsed back."""
        line = model.__pydantic_serializer__.to_json(model) + b"\n"
        if route.name in self._line_only:
            event = route.partition_view(model)
            if event is not None:
                partition = route.partitioner.partition(event, record.arrival_time)
                return Item(route.name, partition, {}, line)
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


def _json(model: BaseModel) -> bytes:
    """A validated record as an external transform receives it: what an identity route
    would write."""
    return model.__pydantic_serializer__.to_json(model)


def _direct_ok(route: Route, type_field: str | None) -> bool:
    """Whether a route may validate from bytes: always without a type field (the source
    decides); with one, when the model reads it under that very name, so that
    `model_fields_set` tells whether the record's top level carried it."""
    if type_field is None:
        return True
    field = route.model.model_fields.get(type_field)
    return (
        field is not None
        and (field.alias or type_field) == type_field
        and (field.validation_alias or type_field) == type_field
    )
