"""Resumable state of batch jobs: one small JSON document per state name, in S3.

Extract jobs keep their cursor (an HTTP API's next-page token, a table's watermark) at
`s3://{bucket}/{prefix}/{name}.json`. The document plays the part a Kinesis checkpoint
plays for the consumer: it is written only after every sink confirmed the records it
covers, so a crashed job that is simply run again starts from the last confirmed cut and
rewrites, with the same positions and S3 keys, only what was not yet confirmed.

A PutObject replaces the whole document atomically, and S3 reads are strongly consistent,
so one document per name needs no locking as long as one run at a time uses a name.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from botocore.exceptions import ClientError

from consumer.errors import EtlError

DEFAULT_PREFIX = "_sluice/state"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""State names become one S3 key segment and the partition of the records' S3 keys."""
_NAME = re.compile(NAME_PATTERN)
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class StateError(EtlError):
    """A state document is unreadable, or belongs to another job or input."""


class StateStore:
    """`load` and `save` JSON objects by name under one bucket and prefix."""

    def __init__(self, s3: Any, bucket: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def key(self, name: str) -> str:
        if not _NAME.match(name):
            raise StateError(f"state name {name!r}: use letters, digits, '.', '_' and '-'")
        return f"{self.prefix}/{name}.json" if self.prefix else f"{name}.json"

    def location(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"

    def load(self, name: str) -> dict[str, Any] | None:
        """The stored document, or None when there is none yet (a first run)."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise StateError(f"{self.location(name)} is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise StateError(f"{self.location(name)} holds no JSON object")
        return doc

    def save(self, name: str, doc: dict[str, Any]) -> None:
        """Replace the document. Call only once the records it covers are in every sink."""
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key(name),
            Body=orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2),
            ContentType="application/json",
        )
