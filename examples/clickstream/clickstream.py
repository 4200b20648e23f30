"""The demo pipeline's business logic: two record types, their schemas and transforms.

A schema is a pydantic model; a transform is a plain function from a valid model to the
output row(s). This is all a user writes for a new pipeline.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Self
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Device(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    os: Literal["ios", "android", "windows", "macos", "linux"]
    browser: str = Field(min_length=1, max_length=32)
    mobile: bool


class PageView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["page_view"]
    event_id: UUID
    user_id: str = Field(min_length=1, max_length=64)
    session_id: UUID
    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=2048)
    referrer: str | None = None
    event_time: datetime
    duration_ms: int = Field(ge=0, le=86_400_000)
    device: Device


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    quantity: int = Field(ge=1, le=1000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class Purchase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["purchase"]
    event_id: UUID
    user_id: str = Field(min_length=1, max_length=64)
    order_id: str = Field(pattern=r"^ORD-\d{8}$")
    event_time: datetime
    currency: Literal["USD", "EUR", "GBP"]
    items: list[LineItem] = Field(min_length=1, max_length=100)
    total: Decimal = Field(ge=0, max_digits=14, decimal_places=2)

    @model_validator(mode="after")
    def _total_matches_items(self) -> Self:
        expected = sum((item.unit_price * item.quantity for item in self.items), Decimal(0))
        if expected != self.total:
            raise ValueError(f"total {self.total} != sum of items {expected}")
        return self


class PageViewRow(BaseModel):
    """The columns of a page view row (`output_model`): Parquet and Iceberg take their
    schema from it, and a row that does not fit it is quarantined at stage `load`."""

    event_id: str
    user_id: str
    session_id: str
    host: str | None
    path: str
    referrer_host: str | None
    event_time: datetime
    duration_ms: int = Field(ge=0, le=86_400_000)
    device_os: str
    mobile: bool


class PurchaseRow(BaseModel):
    """The columns of a purchase row (`output_model`)."""

    event_id: str
    order_id: str
    user_id: str
    event_time: datetime
    currency: str
    item_count: int = Field(ge=0, le=100_000)
    skus: list[str]
    total: Decimal = Field(max_digits=14, decimal_places=2)


def page_view_row(view: PageView) -> dict[str, Any]:
    url = urlsplit(view.url)
    return {
        "event_id": str(view.event_id),
        "user_id": view.user_id,
        "session_id": str(view.session_id),
        "host": url.hostname,
        "path": url.path or "/",
        "referrer_host": urlsplit(view.referrer).hostname if view.referrer else None,
        "event_time": view.event_time,
        "duration_ms": view.duration_ms,
        "device_os": view.device.os,
        "mobile": view.device.mobile,
    }


def purchase_row(purchase: Purchase) -> dict[str, Any]:
    return {
        "event_id": str(purchase.event_id),
        "order_id": purchase.order_id,
        "user_id": purchase.user_id,
        "event_time": purchase.event_time,
        "currency": purchase.currency,
        "item_count": sum(item.quantity for item in purchase.items),
        "skus": sorted({item.sku for item in purchase.items}),
        "total": str(purchase.total),
    }
