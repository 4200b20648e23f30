"""Hive-style output partitions (`dt=2026-11-22/hr=13`) derived from row values.

Partition values come from data, so they are sanitized: only `[A-Za-z0-9_.-]` survives,
everything else is percent-encoded, and `.`/`..` or empty values are replaced, so no key
can escape its prefix whatever a producer sends.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import RecordError

MAX_SEGMENT = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class PartitionConfig(BaseModel):
    """How a route's rows are split into output partitions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_field: str | None = Field(
        None, description="row field holding the event time; arrival time when unset"
    )
    granularity: Literal["hour", "day"] = "hour"
    fields: tuple[str, ...] = Field((), description="extra row fields, appended as name=value")


def _escape(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogatepass"))


def sanitize(value: str) -> str:
    """A single safe path segment for `value`, one-to-one: distinct values never share one.

    Unsafe characters are percent-encoded as UTF-8 (`%` itself included), `.` and `..` as
    `%2E`, and the empty string as a lone `%`, which no encoding produces. Segments longer
    than MAX_SEGMENT characters are shortened to a prefix and a digest.
    """
    if value in (".", ".."):
        return value.replace(".", "%2E")
    segment = _UNSAFE.sub(_escape, value) if value else "%"
    if len(segment) > MAX_SEGMENT:
        # S3 keys end at 1,024 bytes: keep a readable prefix and a digest of the whole
        # value; `%%` never comes out of the escaping, so no short segment can match.
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:20]
        segment = segment[:80] + "%%" + digest
    return segment


def to_datetime(value: Any) -> datetime:
    """Event time from a datetime, an ISO-8601 string or epoch seconds, in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise TypeError(f"not a time: {value!r}")
    offset = moment.utcoffset()
    if offset is None:
        return moment.replace(tzinfo=UTC)
    return moment if not offset else moment.astimezone(UTC)


class Partitioner:
    def __init__(self, config: PartitionConfig) -> None:
        self.config = config
        self._hourly = config.granularity == "hour"
        self._prefixes: dict[tuple[int, int, int, int], str] = {}

    def partition(self, row: Mapping[str, Any], arrival_time: float) -> str:
        field = self.config.time_field
        if field is None:
            prefix = self.time_prefix(datetime.fromtimestamp(arrival_time, UTC))
        else:
            try:
                event_time = row[field]
            except KeyError as exc:
                raise self._bad_time(exc) from None
            prefix = self.time_prefix(event_time)
        if not self.config.fields:
            return prefix
        parts = [prefix]
        for name in self.config.fields:
            value = row.get(name)
            parts.append(f"{sanitize(name)}={sanitize('null' if value is None else str(value))}")
        return "/".join(parts)

    def time_prefix(self, value: Any) -> str:
        """The `dt=.../hr=...` part for an event time (a datetime, an ISO string or epoch
        seconds): the whole partition when the config has no `fields`. Formatted once per
        distinct hour (or day)."""
        try:  # a datetime at UTC (or naive, read as UTC) is its own UTC moment
            moment = (
                value if type(value) is datetime and not value.utcoffset() else to_datetime(value)
            )
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            raise self._bad_time(exc) from None
        key = (moment.year, moment.month, moment.day, moment.hour if self._hourly else 0)
        prefix = self._prefixes.get(key)
        if prefix is None:
            if len(self._prefixes) > 10_000:
                self._prefixes.clear()
            prefix = f"dt={key[0]:04d}-{key[1]:02d}-{key[2]:02d}"
            if self._hourly:
                prefix += f"/hr={key[3]:02d}"
            self._prefixes[key] = prefix
        return prefix

    def _bad_time(self, exc: Exception) -> RecordError:
        return RecordError(
            "transform", "BadPartitionValue", f"time_field {self.config.time_field!r}: {exc}"
        )
