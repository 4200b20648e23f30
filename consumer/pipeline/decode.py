"""Turn raw record bytes into JSON values under hard limits.

Limits are checked before any expensive work: the raw size first, then gzip inflation
with both an absolute cap and a ratio cap (a zip bomb stops at the cap, never in memory),
then parsing with orjson, then nesting depth. Every failure is a `RecordError` with
stage ``decode`` and a stable error type.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import RecordError

GZIP_MAGIC = b"\x1f\x8b"
_CANDIDATES = 4


class DecodeConfig(BaseModel):
    """Hard limits applied to every record before it is parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_record_bytes: int = Field(1_048_576, gt=0, description="raw bytes per record")
    max_depth: int = Field(32, gt=0, le=1000, description="JSON nesting depth")
    max_inflated_bytes: int = Field(4_194_304, gt=0, description="bytes after gunzip")
    max_inflate_ratio: float = Field(100.0, gt=1, description="inflated / compressed bytes")


def _fail(error_type: str, message: str) -> RecordError:
    return RecordError("decode", error_type, message)


class Decoder:
    """Decodes JSON records, optionally gzip-compressed, under `DecodeConfig` limits."""

    def __init__(self, config: DecodeConfig) -> None:
        self.config = config

    def decode(self, data: bytes) -> Any:
        cfg = self.config
        if len(data) > cfg.max_record_bytes:
            raise _fail(
                "RecordTooLarge",
                f"{len(data)} bytes exceeds max_record_bytes={cfg.max_record_bytes}",
            )
        if data[:2] == GZIP_MAGIC:
            data = self.inflate(data)
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise self._parse_error(data, exc) from None
        self._check_depth(data, value)
        return value

    def unpacked(self, data: bytes) -> bool:
        """Within the size limit and not gzip: all the fast path asks of a record of a
        closed model (consumer/pipeline/closed.py) before validating it from JSON."""
        return len(data) <= self.config.max_record_bytes and data[:2] != GZIP_MAGIC

    def within_tokens(self, data: bytes) -> bool:
        """Too few brackets to nest past `max_depth`, and no `NaN` or `Infinity` token
        (which orjson refuses and pydantic's JSON parser would accept): with `unpacked`,
        what bytes of any other model must pass to be validated straight from JSON;
        anything else takes `decode`."""
        return (
            data.count(b"{") + data.count(b"[") <= self.config.max_depth
            and not _has(data, b"NaN")
            and not _has(data, b"Infinity")
        )

    def inflate(self, data: bytes) -> bytes:
        cfg = self.config
        limit = min(cfg.max_inflated_bytes, int(len(data) * cfg.max_inflate_ratio))
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            raise _fail("InvalidGzip", str(exc)) from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise _fail(
                "InflateLimitExceeded",
                f"gzip payload inflates past {limit} bytes (max_inflated_bytes="
                f"{cfg.max_inflated_bytes}, max_inflate_ratio={cfg.max_inflate_ratio})",
            )
        if not inflater.eof:
            raise _fail("InvalidGzip", "truncated gzip stream")
        return out

    def _parse_error(self, data: bytes, exc: orjson.JSONDecodeError) -> RecordError:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            return _fail("InvalidUtf8", f"invalid UTF-8 at byte {err.start}: {err.reason}")
        # Older orjson says "recursion limit reached", newer (3.13) "depth limit exceeded".
        reason = str(exc).lower()
        if "recursion" in reason or "depth limit" in reason:
            return _fail("NestingTooDeep", f"nesting deeper than max_depth={self.config.max_depth}")
        return _fail("InvalidJson", str(exc))

    def _check_depth(self, data: bytes, value: Any) -> None:
        limit = self.config.max_depth
        # Cheap bound first: depth can never exceed the number of opening brackets.
        if data.count(b"{") + data.count(b"[") <= limit:
            return
        if _depth(value) > limit:
            raise _fail("NestingTooDeep", f"nesting deeper than max_depth={limit}")


def _has(data: bytes, token: bytes) -> bool:
    """`token in data`, two to three times as fast on JSON for `NaN` and `Infinity`: their
    capital first letter is rare, so memchr finds the few candidates and each is checked
    in place; past a handful of candidates, the plain search from there."""
    first = token[:1]
    at = data.find(first)
    for _ in range(_CANDIDATES):
        if at < 0:
            return False
        if data.startswith(token, at):
            return True
        at = data.find(first, at + 1)
    return at >= 0 and data.find(token, at) >= 0


def _depth(value: Any) -> int:
    """Maximum container nesting depth of a parsed JSON value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
