"""A sink's row check sends an unstorable row to the quarantine at stage `load`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.quarantine import QUARANTINE_ROUTE
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router


class Note(BaseModel):
    id: str
    text: str


def no_nul(row: dict[str, Any], line: bytes) -> str | None:
    return "NUL in text" if "\x00" in str(row.get("text")) else None


def _pipeline() -> Pipeline:
    spec = {"name": "notes", "schema": "tests.unit.test_row_checks:Note", "sinks": ["db"]}
    route = Route(RouteConfig.model_validate(spec), 0)
    return Pipeline(Decoder(DecodeConfig()), [route], Router([route], None), {"notes": [no_nul]})


def _record(data: bytes) -> Record:
    return Record("s", "p", Position(1), "k", 0.0, data)


def test_rows_that_pass_the_check_are_kept() -> None:
    items, quarantined = _pipeline().process(_record(b'{"id": "1", "text": "fine"}'))
    assert not quarantined and [i.route for i in items] == ["notes"]


def test_a_row_a_sink_cannot_store_is_quarantined_with_the_reason() -> None:
    items, quarantined = _pipeline().process(_record(b'{"id": "1", "text": "a\\u0000b"}'))
    assert quarantined
    [item] = items
    assert item.route == QUARANTINE_ROUTE
    assert (item.row["stage"], item.row["error_type"]) == ("load", "UnstorableValue")
    assert item.row["message"] == "NUL in text" and item.row["route"] == "notes"
