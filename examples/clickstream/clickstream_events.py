"""Sample events for the demo: valid page views and purchases, plus about 5 percent bad
records of every kind the pipeline must quarantine, each labelled with the outcome the
pipeline must produce for it, so the demo can check every record's fate."""

from __future__ import annotations

import gzip
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Event:
    """One record to put on the stream; `expect` is ``route:<name>`` or ``quarantine:<stage>``."""

    key: str
    data: bytes
    expect: str


def _page_view(rng: random.Random, key: str, at: datetime) -> dict[str, Any]:
    return {
        "type": "page_view",
        "event_id": key,
        "user_id": f"user-{rng.randrange(500)}",
        "session_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "url": f"https://shop.example.com/{rng.choice(['', 'cart', 'p/42', 'search'])}",
        "referrer": rng.choice([None, "https://www.example.org/q?x=1"]),
        "event_time": at.isoformat(),
        "duration_ms": rng.randrange(60_000),
        "device": {
            "os": rng.choice(["ios", "android", "linux"]),
            "browser": "firefox",
            "mobile": rng.random() < 0.5,
        },
    }


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _purchase(rng: random.Random, key: str, at: datetime) -> dict[str, Any]:
    lines = [(rng.randrange(1, 4), rng.randrange(100, 10_000)) for _ in range(rng.randrange(1, 4))]
    items = [
        {"sku": f"SKU-{rng.randrange(10_000):04d}", "quantity": qty, "unit_price": _money(cents)}
        for qty, cents in lines
    ]
    return {
        "type": "purchase",
        "event_id": key,
        "user_id": f"user-{rng.randrange(500)}",
        "order_id": f"ORD-{rng.randrange(10**8):08d}",
        "event_time": at.isoformat(),
        "currency": rng.choice(["USD", "EUR"]),
        "items": items,
        "total": _money(sum(qty * cents for qty, cents in lines)),
    }


def _valid(rng: random.Random, key: str, at: datetime) -> Event:
    if rng.random() < 0.2:
        return Event(key, orjson.dumps(_purchase(rng, key, at)), "route:purchases")
    body = orjson.dumps(_page_view(rng, key, at))
    if rng.random() < 0.1:
        body = gzip.compress(body, compresslevel=1)
    return Event(key, body, "route:page_views")


def _bad_json(rng: random.Random, key: str, at: datetime) -> Event:
    return Event(key, orjson.dumps(_page_view(rng, key, at))[:-7], "quarantine:decode")


def _bad_utf8(rng: random.Random, key: str, at: datetime) -> Event:
    body = orjson.dumps(_page_view(rng, key, at)).replace(b"firefox", b"fire\xff\xfeox")
    return Event(key, body, "quarantine:decode")


def _too_large(rng: random.Random, key: str, at: datetime) -> Event:
    event = _page_view(rng, key, at) | {"padding": "x" * 70_000}
    return Event(key, orjson.dumps(event), "quarantine:decode")


def _too_deep(rng: random.Random, key: str, at: datetime) -> Event:
    nested: Any = {"leaf": True}
    for _ in range(40):
        nested = {"n": nested}
    return Event(
        key, orjson.dumps(_page_view(rng, key, at) | {"device": nested}), "quarantine:decode"
    )


def _schema_violation(rng: random.Random, key: str, at: datetime) -> Event:
    event = _purchase(rng, key, at)
    event["total"] = "-1.00" if rng.random() < 0.5 else "0.01"
    return Event(key, orjson.dumps(event), "quarantine:validate")


def _missing_field(rng: random.Random, key: str, at: datetime) -> Event:
    event = _page_view(rng, key, at)
    del event["session_id"]
    return Event(key, orjson.dumps(event), "quarantine:validate")


def _unknown_type(rng: random.Random, key: str, at: datetime) -> Event:
    event = _page_view(rng, key, at) | {"type": "add_to_cart"}
    return Event(key, orjson.dumps(event), "quarantine:route")


_BAD: list[Callable[[random.Random, str, datetime], Event]] = [
    _bad_json,
    _bad_utf8,
    _too_large,
    _too_deep,
    _schema_violation,
    _missing_field,
    _unknown_type,
]


def generate(count: int, invalid_ratio: float = 0.05, seed: int = 7) -> list[Event]:
    """`count` events over the last two hours; every bad kind appears at least once."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=2)
    bad_count = min(count, max(len(_BAD), round(count * invalid_ratio)))
    bad_slots = set(rng.sample(range(count), bad_count))
    events: list[Event] = []
    bad_made = 0
    for index in range(count):
        key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = start + timedelta(seconds=index * 7200 / count)
        if index in bad_slots:
            events.append(_BAD[bad_made % len(_BAD)](rng, key, at))
            bad_made += 1
        else:
            events.append(_valid(rng, key, at))
    return events
