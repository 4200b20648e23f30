"""The per-record path: decode, route, validate, transform, partition, encode.

`Pipeline.process` never raises for a bad record: a `RecordError` at any stage turns the
record into one quarantine item carrying the error envelope. A record's rows are produced
all together or not at all, so a transform that fails half-way leaves no partial output.
Sinks may check each row (stage ``load``): a value a sink cannot store exactly, such as a
NUL character for PostgreSQL, is quarantined here, before it could fail a whole flush.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ValidationError

from consumer.errors import RecordError
from consumer.flow import Item, Processed, Record
from consumer.pipeline.closed import closed_depth
from consumer.pipeline.decode import Decoder
from consumer.pipeline.external import Outcome, Rejected
from consumer.pipeline.partitioning import PartitionConfig, Partitioner
from consumer.pipeline.quarantine import QUARANTINE_ROUTE, envelope
from consumer.pipeline.route import Route
from consumer.pipeline.router import Router
from consumer.sinks.base import RowCheck

_ENCODE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
_QUARANTINE_PARTITIONER = Partitioner(PartitionConfig())
_NO_ROW: Mapping[str, Any] = {}
_NO_ROW_DICT: dict[str, Any] = {}
"""What a `LineCheck` is given as its row on a line-only route (it reads the line only)."""


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
        depth = decoder.config.max_depth
        self._closed = {
            name
            for name in self._direct
            if (closed_depth(self.routes[name].model) or depth + 1) <= depth
        }
        """Routes whose model validates only what the token and depth limits let through:
        their records skip those scans (consumer/pipeline/closed.py)."""
        self._line_only = frozenset(line_only)
        """Routes whose sinks read only the encoded lines (S3): their items carry no row."""
        self._lines = {
            route.name: _LineRoute(route, router.type_field, self.row_checks.get(route.name, ()))
            for route in routes
            if route.name in self._line_only and route.identity and route.partitions_from_model
        }
        """Line-only routes without a transform: one item straight from the bytes."""
        self._rows = {
            route.name: _RowRoute(self, route, router.type_field)
            for route in routes
            if route.name in self._direct and not route.identity and route.external is None
        }
        """Routes with an in-process transform: their outcome from the bytes in one frame."""

    def process(self, record: Record) -> tuple[list[Item], bool]:
        """Items for `record` and whether it was quarantined."""
        found = self._direct_step(record)
        if found is not None and not isinstance(found, _Validated):
            return found
        waiting: dict[str, list[tuple[int, BaseModel, Record]]] = {}
        results = [self._outcome(0, record, found, waiting)]
        self._run_external(waiting, results)
        return results[0]

    def process_many(self, records: Sequence[Record]) -> list[tuple[list[Item], bool]]:
        """`process` for each record, in order; records of routes with an external transform
        go to their command together, one batch per route."""
        results: list[tuple[list[Item], bool]] = []
        waiting: dict[str, list[tuple[int, BaseModel, Record]]] = {}
        direct = self._direct_step
        for index, record in enumerate(records):
            found = direct(record)
            if found is None or isinstance(found, _Validated):
                results.append(self._outcome(index, record, found, waiting))
            else:
                results.append(found)
        self._run_external(waiting, results)
        return results

    def _run_external(
        self,
        waiting: dict[str, list[tuple[int, BaseModel, Record]]],
        results: list[tuple[list[Item], bool]],
    ) -> None:
        """Each route's waiting records through its command, one batch per route; their
        outcomes replace the placeholders in `results`."""
        for name, entries in waiting.items():
            route = self.routes[name]
            assert route.external is not None
            outcomes = route.external.run([_json(model) for _, model, _ in entries])
            for (index, _, record), outcome in zip(entries, outcomes, strict=True):
                results[index] = self._external_items(route, outcome, record)

    def close(self) -> None:
        for route in self.routes.values():
            route.close()

    def _outcome(
        self,
        index: int,
        record: Record,
        direct: tuple[Route, BaseModel] | None,
        waiting: dict[str, list[tuple[int, BaseModel, Record]]],
    ) -> tuple[list[Item], bool]:
        """A record's items, from the fast path's model or else the full path (decode with
        limits, route, validate; the route is known before validation can fail, for the
        quarantine envelope); ([], False) for now when it waits for an external transform."""
        route: Route | None = None
        try:
            if direct is None:
                value = self.decoder.decode(record.data)
                route = self.router.route(record.source, value)
                model = route.validate(value)
            else:
                route, model = direct
            if route.external is not None:
                waiting.setdefault(route.name, []).append((index, model, record))
                return [], False
            return self._items(route, model, record), False
        except RecordError as error:
            return [self.quarantine_item(record, error, route)], True

    def _items(self, route: Route, model: BaseModel, record: Record) -> list[Item]:
        if route.identity:
            return [self._model_item(route, model, record)]
        rows = route.transform(model)
        if len(rows) == 1:  # the common case, without a comprehension's frame
            return [self._item(route, rows[0], record)]
        return [self._item(route, row, record) for row in rows]

    def _external_items(
        self, route: Route, outcome: Outcome, record: Record
    ) -> tuple[list[Item], bool]:
        try:
            if isinstance(outcome, Rejected):
                raise RecordError("transform", outcome.error_type, outcome.reason)
            return [self._item(route, row, record) for row in outcome], False
        except RecordError as error:
            return [self.quarantine_item(record, error, route)], True

    def _direct_step(self, record: Record) -> Processed | _Validated | None:
        """The fast path: the outcome itself for a line-only route without a transform
        and for a route with an in-process transform, the validated model for another
        route; None when the full path must decide."""
        data = record.data
        peeked = self._peek(data, record.source)
        if peeked is None:
            return None
        route, record_type = peeked
        name = route.name
        lines = self._lines.get(name)
        if lines is not None:
            item = lines.item(data, record_type, record.arrival_time)
            return None if item is None else ([item], False)
        rows = self._rows.get(name)
        if rows is not None:
            return rows.outcome(data, record_type, record)
        return self._direct_model(route, record_type, data)

    def _validate_direct(self, data: bytes, source: str) -> _Validated | None:
        """The fast path for the common case, a plain JSON record that validates: pydantic
        parses and validates its bytes in one pass, with no intermediate Python objects.
        Its result is exactly what the full path would give; any doubt (limits, routing,
        a validation error) returns None and the full path names the error. (`_direct_step`
        is this with the line-only shortcut; the tests ask this one which path a record
        takes.)"""
        peeked = self._peek(data, source)
        return None if peeked is None else self._direct_model(peeked[0], peeked[1], data)

    def _peek(self, data: bytes, source: str) -> tuple[Route, str | None] | None:
        """The route of a record that may validate from its bytes, and the type value that
        picked it (docs/decisions.md, "Validate from bytes when nothing can differ")."""
        decoder = self.decoder
        if not decoder.unpacked(data):
            return None
        peeked = self.router.peek(source, data)
        if peeked is None or peeked[0].name not in self._direct:
            return None
        if peeked[0].name not in self._closed and not decoder.within_tokens(data):
            return None
        return peeked

    def _direct_model(
        self, route: Route, record_type: str | None, data: bytes
    ) -> _Validated | None:
        model = route.validate_json(data)
        if model is None:
            return None
        if record_type is not None and not _given(model, self.router.type_field, record_type):
            return None  # picked by a nested field: the full path routes it
        return _Validated(route, model)

    def _model_item(self, route: Route, model: BaseModel, record: Record) -> Item:
        """A route without a transform writes the model as pydantic serializes it to JSON:
        every field type is JSON-safe (Decimal, UUID, sets...), and it is the fastest
        encoder; the row sinks see is that JSON parsed back."""
        line = model.__pydantic_serializer__.to_json(model) + b"\n"
        if route.name in self._line_only:
            event = route.partition_view(model)
            if event is not None:
                partition = route.partitioner.partition(event, record.arrival_time)
                for check in self.row_checks.get(route.name, ()):  # they read the line only
                    reason = check(_NO_ROW_DICT, line)
                    if reason is not None:
                        raise RecordError("load", "UnstorableValue", reason)
                return Item(route.name, partition, {}, line)
        return self._checked(route, orjson.loads(line), line, record)

    def _item(self, route: Route, row: dict[str, Any], record: Record) -> Item:
        try:
            line = orjson.dumps(row, option=_ENCODE)
        except TypeError as exc:
            raise RecordError("transform", "UnserializableRow", str(exc)) from None
        return self._checked(route, row, line, record)

    def _checked(self, route: Route, row: dict[str, Any], line: bytes, record: Record) -> Item:
        """The item of a row once partitioned and checked; a line-only route keeps no row
        (its sinks never read one), so buffers hold bytes, not objects for the GC to walk."""
        partition = route.partitioner.partition(row, record.arrival_time)
        checks = self.row_checks.get(route.name)
        if checks:
            for check in checks:
                reason = check(row, line)
                if reason is not None:
                    raise RecordError("load", "UnstorableValue", reason)
        return Item(route.name, partition, {} if route.name in self._line_only else row, line)

    @staticmethod
    def quarantine_item(record: Record, error: RecordError, route: Route | None) -> Item:
        row = envelope(record, error, route.name if route else None)
        partition = _QUARANTINE_PARTITIONER.partition(row, record.arrival_time)
        return Item(QUARANTINE_ROUTE, partition, row, orjson.dumps(row, option=_ENCODE))


class _Validated(NamedTuple):
    """A record's route and its model, validated from its bytes by the fast path."""

    route: Route
    model: BaseModel


class _RowRoute:
    """`Pipeline._outcome` for a route with an in-process transform, from the record's
    bytes in one frame: validate, check the type that picked the route, transform, then
    each row's item (`Pipeline._item`). None when the full path must decide (a validation
    error, a nested type); a failing transform or row is quarantined as the full path
    quarantines it."""

    __slots__ = ("pipeline", "route", "type_field", "validate")

    def __init__(self, pipeline: Pipeline, route: Route, type_field: str | None) -> None:
        self.pipeline = pipeline
        self.route = route
        self.type_field = type_field
        self.validate = route.model.__pydantic_validator__.validate_json

    def outcome(self, data: bytes, record_type: str | None, record: Record) -> Processed | None:
        try:
            model = self.validate(data)
        except ValidationError:
            return None
        if record_type is not None and not _given(model, self.type_field, record_type):
            return None  # picked by a nested field: the full path routes it
        route, pipeline = self.route, self.pipeline
        try:
            rows = route.transform(model)
            if len(rows) == 1:  # the common case, without a comprehension's frame
                return [pipeline._item(route, rows[0], record)], False
            return [pipeline._item(route, row, record) for row in rows], False
        except RecordError as error:
            return [pipeline.quarantine_item(record, error, route)], True


class _LineRoute:
    """`Pipeline._model_item` for a line-only route, from the record's bytes in one step:
    validate, check the type that picked the route, encode, partition from the model. The
    same item the full path gives, or None whenever the full path must decide (a
    validation error, a nested type, an unreadable event time: it names the error)."""

    __slots__ = ("checks", "model", "name", "partitioner", "time_field", "type_field")

    def __init__(self, route: Route, type_field: str | None, checks: Sequence[RowCheck]) -> None:
        self.checks = tuple(checks)
        """Checks of the line alone (`LineCheck`): a line one refuses takes the full path,
        which quarantines it."""
        self.name = route.name
        self.model = route.model
        self.partitioner = route.partitioner
        self.time_field = route.config.partition.time_field
        self.type_field = type_field

    def item(self, data: bytes, record_type: str | None, arrival_time: float) -> Item | None:
        model_type = self.model
        try:
            model = model_type.__pydantic_validator__.validate_json(data)
        except ValidationError:
            return None
        if record_type is not None and not _given(model, self.type_field, record_type):
            return None
        line = model_type.__pydantic_serializer__.to_json(model) + b"\n"
        for check in self.checks:
            if check(_NO_ROW_DICT, line) is not None:
                return None
        try:
            if self.time_field is None:
                partition = self.partitioner.partition(_NO_ROW, arrival_time)
            else:
                partition = self.partitioner.time_prefix(getattr(model, self.time_field))
        except RecordError:
            return None
        return Item(self.name, partition, {}, line)


def _given(model: BaseModel, field: str | None, record_type: str) -> bool:
    """Whether the model was given `record_type` in its own top-level type field, which no
    nested field can fake."""
    return (
        field is not None
        and field in model.__pydantic_fields_set__
        and getattr(model, field) == record_type
    )


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
