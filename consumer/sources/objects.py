"""S3 objects as input: read whole, streaming, under the decoder's hard limits, and split
into JSON Lines. The SQS source reads the objects S3 event notifications and
extended-client pointers name; a backfill reads the objects of its prefix or manifest.

An object that cannot be read (missing, over `max_object_bytes`, truncated gzip, inflating
past the caps) is a `RecordError` for the quarantine, never a crash.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator
from typing import Any

from consumer.errors import RecordError
from consumer.pipeline.decode import DecodeConfig


class ObjectReader:
    """Reads S3 objects as JSON Lines payloads, streaming, under hard limits."""

    def __init__(self, s3: Any, limits: DecodeConfig, max_object_bytes: int) -> None:
        self.s3 = s3
        self.limits = limits
        self.max_object_bytes = max_object_bytes

    def read(self, bucket: str, key: str) -> bytes:
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise RecordError("decode", "ObjectUnreadable", f"s3://{bucket}/{key}: {exc}") from None
        if response["ContentLength"] > self.max_object_bytes:
            raise RecordError(
                "decode",
                "ObjectTooLarge",
                f"s3://{bucket}/{key} has {response['ContentLength']} bytes, over "
                f"max_object_bytes={self.max_object_bytes}",
            )
        body = response["Body"]
        head = body.read(2)
        if head == b"\x1f\x8b":
            return self._inflate(head, body, f"s3://{bucket}/{key}")
        data: bytes = head + body.read()
        return data

    def _inflate(self, head: bytes, body: Any, name: str) -> bytes:
        inflater = zlib.decompressobj(wbits=31)
        limit = self.limits.max_inflated_bytes
        out = bytearray()
        read = 0
        try:
            for chunk in itertools.chain([head], iter(lambda: body.read(65_536), b"")):
                read += len(chunk)
                out += inflater.decompress(chunk, limit + 1 - len(out))
                ratio_cap = read * self.limits.max_inflate_ratio
                if len(out) > limit or len(out) > ratio_cap + 65_536 or inflater.unconsumed_tail:
                    raise RecordError(
                        "decode",
                        "InflateLimitExceeded",
                        f"{name} inflates past max_inflated_bytes={limit} or "
                        f"max_inflate_ratio={self.limits.max_inflate_ratio}",
                    )
        except zlib.error as exc:
            raise RecordError("decode", "InvalidGzip", f"{name}: {exc}") from None
        if not inflater.eof:
            raise RecordError("decode", "InvalidGzip", f"{name}: truncated gzip stream")
        return bytes(out)

    def lines(self, bucket: str, key: str) -> Iterator[bytes]:
        for line in self.read(bucket, key).splitlines():
            if line.strip():
                yield line
