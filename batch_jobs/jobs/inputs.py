"""Where a backfill's input objects come from: every object under a prefix, or the list in
a manifest object, and in which format each is read.

Each input carries the partition its records get: the object key, or `bucket/key` for an
object in another bucket than the job's, so that outputs of two inputs never share a key.
The fan-out hashes that same name (batch_jobs/parts.py), so a listing and a manifest of
the same objects split into the same parts.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from batch_jobs.ledger import RUNS_PREFIX
from consumer.errors import ConfigError, RecordError
from consumer.sinks.s3 import is_staged

Format = Literal["auto", "jsonl", "parquet"]


@dataclass(frozen=True)
class Input:
    bucket: str
    key: str
    partition: str
    arrival: float
    """Epoch seconds: the object's LastModified (a manifest's own, until looked up)."""
    listed: bool = True
    """Whether `arrival` is the object's own: false for manifest entries."""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def input_format(key: str, declared: Format) -> Literal["jsonl", "parquet"]:
    """`auto`: Parquet for keys ending `.parquet`, JSON Lines (plain or gzip) otherwise."""
    if declared != "auto":
        return declared
    return "parquet" if key.lower().endswith(".parquet") else "jsonl"


def list_objects(s3: Any, bucket: str, prefix: str) -> dict[str, float]:
    """Object key -> last-modified epoch seconds, for every object under the prefix but
    the jobs' own ledger (`_sluice/runs/`) and objects staged for a commit (`_staging/`)."""
    found: dict[str, float] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].startswith(RUNS_PREFIX + "/") and not is_staged(obj["Key"]):
                found[obj["Key"]] = obj["LastModified"].timestamp()
    return found


def from_prefix(s3: Any, bucket: str, prefix: str) -> list[Input]:
    return [
        Input(bucket, key, key, at) for key, at in sorted(list_objects(s3, bucket, prefix).items())
    ]


def locate(text: str, bucket: str) -> tuple[str, str]:
    """`s3://bucket/key` or a key in the job's bucket -> (bucket, key)."""
    if text.startswith("s3://"):
        named, _, key = text.removeprefix("s3://").partition("/")
        if not named or not key:
            raise ValueError(f"{text!r} is not s3://bucket/key")
        return named, key
    return bucket, text


def parse_manifest(body: bytes, bucket: str) -> list[tuple[str, str]]:
    """(bucket, key) of each line, first occurrence kept. A line is a key or an s3 URL,
    plain or as a JSON string, or a JSON object with `key` (and `bucket`) or `url`; blank
    lines and lines starting with `#` are skipped."""
    named: dict[tuple[str, str], None] = {}
    for number, raw in enumerate(body.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        try:
            named[_entry(line, bucket)] = None
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"manifest line {number}: {exc}") from None
    return list(named)


def _entry(line: bytes, bucket: str) -> tuple[str, str]:
    if line[:1] == b'"':
        return locate(str(orjson.loads(line)), bucket)
    if line[:1] == b"{":
        value = orjson.loads(line)
        if "url" in value:
            return locate(str(value["url"]), bucket)
        return str(value.get("bucket") or bucket), str(value["key"])
    return locate(line.decode(), bucket)


def from_manifest(s3: Any, bucket: str, manifest: str, max_bytes: int) -> list[Input]:
    """The inputs a manifest object names (plain, or gzip), sorted by partition."""
    where, key = locate(manifest, bucket)
    try:
        response = s3.get_object(Bucket=where, Key=key)
        if response["ContentLength"] > max_bytes:
            raise ValueError(f"{response['ContentLength']} bytes, over {max_bytes}")
        body: bytes = response["Body"].read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
    except Exception as exc:
        raise ConfigError(f"manifest s3://{where}/{key} cannot be read: {exc}") from None
    at = response["LastModified"].timestamp()
    inputs = [
        Input(b, k, k if b == bucket else f"{b}/{k}", at, listed=False)
        for b, k in parse_manifest(body, bucket)
    ]
    return sorted(inputs, key=lambda item: item.partition)


def own_arrival(s3: Any, item: Input) -> float:
    """The object's LastModified (HeadObject): a manifest entry's arrival time. A missing
    or unreadable object is a `RecordError`, for the quarantine."""
    if item.listed:
        return item.arrival
    try:
        head = s3.head_object(Bucket=item.bucket, Key=item.key)
    except Exception as exc:
        raise RecordError("decode", "ObjectUnreadable", f"{item.url}: {exc}") from None
    stamp: float = head["LastModified"].timestamp()
    return stamp
