"""The reference event of the performance issue: about 1.2 KB of JSON with a UUID,
datetimes, an enum, nested models and constraints, and an identity-style transform."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    WEB = "web"
    IOS = "ios"
    ANDROID = "android"


class Geo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str = Field(min_length=2, max_length=2)
    region: str = Field(max_length=64)
    city: str = Field(max_length=128)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=r"^[A-Z]{3}-\d{6}$")
    quantity: int = Field(ge=1, le=1000)
    price_cents: int = Field(ge=0)


class OrderEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["order"]
    event_id: uuid.UUID
    occurred_at: datetime
    received_at: datetime
    customer_id: str = Field(min_length=1, max_length=64)
    channel: Channel
    geo: Geo
    items: list[Item] = Field(min_length=1, max_length=50)
    coupon: str | None = Field(None, max_length=32)
    user_agent: str = Field(max_length=512)
    notes: str = Field("", max_length=1024)
    total_cents: int = Field(ge=0)


def order_route(**changes: Any) -> dict[str, Any]:
    """The reference route, as a pipeline file spells it: orders into the lake, hourly."""
    return {
        "name": "orders",
        "record_type": "order",
        "schema": "load_tests.reference:OrderEvent",
        "partition": {"time_field": "occurred_at"},
        "sinks": ["lake"],
        **changes,
    }


def order_row(event: OrderEvent) -> dict[str, Any]:
    """An identity-style transform (a route without a transform does this, faster)."""
    return event.model_dump()


def events(count: int, seed: int = 3) -> list[bytes]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 22, tzinfo=UTC)
    out = []
    for i in range(count):
        items: list[dict[str, Any]] = [
            {
                "sku": f"SKU-{rng.randrange(10**6):06d}",
                "quantity": rng.randrange(1, 5),
                "price_cents": rng.randrange(100, 99_999),
            }
            for _ in range(rng.randrange(2, 5))
        ]
        at = start + timedelta(seconds=i)
        out.append(
            orjson.dumps(
                {
                    "type": "order",
                    "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "occurred_at": at.isoformat(),
                    "received_at": (at + timedelta(seconds=1)).isoformat(),
                    "customer_id": f"customer-{rng.randrange(10**6)}",
                    "channel": rng.choice(["web", "ios", "android"]),
                    "geo": {
                        "country": "DE",
                        "region": "Berlin",
                        "city": "Berlin",
                        "lat": 52.52,
                        "lon": 13.405,
                    },
                    "items": items,
                    "coupon": rng.choice([None, "WINTER25"]),
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                    "Gecko) Chrome/131.0.0.0 Safari/537.36",
                    "notes": "leave at the door, ring twice " * rng.randrange(15, 25),
                    "total_cents": sum(x["quantity"] * x["price_cents"] for x in items),
                }
            )
        )
    return out
