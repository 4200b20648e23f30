"""Look at what a pipeline wrote: `sluice lake ls|cat` and `sluice quarantine ls|show`.

Both read the S3 sinks the pipeline file names (the routes' lake sinks, the quarantine)
through the same endpoint as everything else, so they work on the emulator, LocalStack
and AWS alike. Folders that start with `_` (staged cuts, quality manifests) are skipped,
as Athena and Hive skip them.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from consumer.config import PipelineConfig
from consumer.errors import UsageError
from consumer.sinks.s3 import S3SinkConfig


@dataclass(frozen=True)
class LakeObject:
    route: str
    bucket: str
    key: str
    size: int
    records: int | None  # from the object's metadata when sluice wrote it


def lake_sinks(config: PipelineConfig, route: str | None) -> list[tuple[str, S3SinkConfig]]:
    """(route, S3 sink) pairs of the routes (or of `route`), each sink once per route."""
    names = [r.name for r in config.routes]
    if route is not None and route not in names:
        raise UsageError(f"--route {route}: no such route (routes: {', '.join(names)})")
    pairs = []
    for r in config.routes:
        if route is not None and r.name != route:
            continue
        for sink in r.sinks:
            cfg = config.sinks[sink]
            if isinstance(cfg, S3SinkConfig):
                pairs.append((r.name, cfg))
    if not pairs:
        raise UsageError("no route writes to an S3 sink: `sluice lake` reads S3 lakes only")
    return pairs


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            key = entry["Key"]
            rest = key[len(prefix) :]
            if key.endswith(".jsonl.gz") and not any(p.startswith("_") for p in rest.split("/")):
                yield key, int(entry["Size"])


def _folder(prefix: str, route: str) -> str:
    return "/".join(part for part in (prefix.strip("/"), route) if part) + "/"


def list_lake(s3: Any, config: PipelineConfig, route: str | None = None) -> list[LakeObject]:
    found = []
    for name, sink in lake_sinks(config, route):
        for key, size in _keys(s3, sink.bucket, _folder(sink.prefix, name)):
            head = s3.head_object(Bucket=sink.bucket, Key=key)
            records = head.get("Metadata", {}).get("sluice-records")
            found.append(LakeObject(name, sink.bucket, key, size, _int(records)))
    return found


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def read_rows(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return [orjson.loads(line) for line in gzip.decompress(body).splitlines() if line]


def quarantine_sink(config: PipelineConfig) -> S3SinkConfig:
    sink = config.quarantine
    if not isinstance(sink, S3SinkConfig):
        raise UsageError(
            f"the quarantine sink is {sink.type!r}: `sluice quarantine` reads S3 quarantines"
        )
    return sink


def envelopes(s3: Any, config: PipelineConfig) -> list[tuple[str, dict[str, Any]]]:
    """(where: s3://bucket/key#line, envelope) of every quarantined record, in the order
    the records arrived (by the second), then by source partition and position: the same
    order, and so the same numbers, every time it is listed."""
    sink = quarantine_sink(config)
    prefix = sink.prefix.strip("/") + "/" if sink.prefix.strip("/") else ""
    found = [
        (f"s3://{sink.bucket}/{key}#{line}", row)
        for key, _ in _keys(s3, sink.bucket, prefix)
        for line, row in enumerate(read_rows(s3, sink.bucket, key), start=1)
    ]
    found.sort(key=lambda item: _arrival_order(item[1]))
    return found


def _arrival_order(envelope: dict[str, Any]) -> tuple[str, str, str, int, int]:
    sequence = str(envelope.get("sequence_number", "0"))
    return (
        str(envelope.get("arrival_time", ""))[:19],  # to the second: puts share it
        str(envelope.get("source", "")),
        str(envelope.get("partition", "")),
        int(sequence) if sequence.isdigit() else 0,
        int(envelope.get("sub_sequence_number") or 0),
    )


def render_line(number: int, envelope: dict[str, Any], width: int = 100) -> str:
    """One envelope as one line: number, when, stage/error type, origin, message."""
    origin = f"{envelope.get('source')}/{envelope.get('partition')}"
    message = " ".join(str(envelope.get("message", "")).split())
    if len(message) > width:
        message = message[: width - 1] + "…"
    return (
        f"{number:>4}  {envelope.get('quarantined_at', '?')}  "
        f"{envelope.get('stage')}/{envelope.get('error_type')}  {origin}  {message}"
    )


def shown(where: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with its record's bytes as text when they are UTF-8."""
    data = base64.b64decode(envelope.get("data_base64", ""))
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {"object": where, **envelope, "data": text}
