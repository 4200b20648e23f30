"""A route without a transform writes the validated model itself, whatever its types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import orjson
from pydantic import BaseModel

from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router


class Payment(BaseModel):
    id: UUID
    amount: Decimal
    at: datetime
    tags: set[str]


def _pipeline(partition: dict[str, object] | None = None) -> Pipeline:
    spec = {
        "name": "payments",
        "schema": "tests.unit.test_identity_route:Payment",
        "sinks": ["lake"],
        "partition": partition or {"time_field": "at"},
    }
    route = Route(RouteConfig.model_validate(spec), 0)
    return Pipeline(Decoder(DecodeConfig()), [route], Router([route], None))


BODY = (
    b'{"id": "5f0c7c8e-8f8e-4b7e-9a35-2f1d0c7f6b11", "amount": "12.50",'
    b' "at": "2026-11-22T13:05:00Z", "tags": ["a"]}'
)


def test_decimals_uuids_datetimes_and_sets_are_written_not_quarantined() -> None:
    items, quarantined = _pipeline().process(Record("s", "p", Position(1), "k", 0.0, BODY))
    assert not quarantined
    [item] = items
    assert item.output_partition == "dt=2026-11-22/hr=13"
    assert orjson.loads(item.line) == {
        "id": "5f0c7c8e-8f8e-4b7e-9a35-2f1d0c7f6b11",
        "amount": "12.50",
        "at": "2026-11-22T13:05:00Z",
        "tags": ["a"],
    }
    assert item.line.endswith(b"\n")
    assert item.row["amount"] == "12.50"
