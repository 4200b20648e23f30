"""S3 data lake sink: gzip JSON Lines or Parquet under Hive-style partitions, one object
per batch.

Keys are deterministic, `{prefix}/{route}/{output_partition}/{source}.{partition}.
{first_sequence}-{first_sub}.jsonl.gz` (`.parquet`), so a batch replayed after a crash
overwrites its own object instead of adding a duplicate. A PutObject either lands whole or
not at all. Parquet columns come from the route's row model (consumer/sinks/columns): the
same types in every object, and a row they cannot hold exactly is quarantined at stage
`load` before it reaches a flush.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Container, Iterator
from typing import Any, Literal
from urllib.parse import urlencode

import orjson
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from consumer.flow import Batch
from consumer.pipeline.partitioning import sanitize
from consumer.sinks.base import BuildContext, RouteShape, RowCheck, SinkBase
from consumer.sinks.gzipped import gzip_bytes

_NON_RETRIABLE_CODES = frozenset(
    {
        "NoSuchBucket",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidBucketName",
        "AllAccessDisabled",
        "KMS.NotFoundException",
    }
)


class S3SinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["s3"] = "s3"
    bucket: str = Field(min_length=3)
    prefix: str = Field("", description="key prefix, without trailing slash")
    gzip_level: int = Field(
        1, ge=1, le=9, description="1 to 3: ISA-L, 1 is about 7x as fast as zlib's 1; 4 to 9: zlib"
    )
    format: Literal["jsonl", "parquet"] = Field(
        "jsonl", description="gzip JSON Lines, or Parquet with the route's row model as columns"
    )
    compression: Literal["zstd", "snappy"] = Field("zstd", description="of Parquet objects")

    def build(self, name: str, ctx: BuildContext) -> S3Sink:
        return S3Sink(name, self, ctx.aws.client("s3"))


SUFFIXES = {"jsonl": ".jsonl.gz", "parquet": ".parquet"}


def object_key(prefix: str, batch: Batch, suffix: str = ".jsonl.gz") -> str:
    """The batch's key: a pure function of where its first record sits in the source."""
    first = batch.first_position
    name = f"{sanitize(batch.source)}.{sanitize(batch.partition)}.{first.sequence}-{first.sub}"
    parts = [
        prefix.strip("/"),
        sanitize(batch.route) if batch.route else "",
        batch.output_partition,
        name + suffix,
    ]
    return "/".join(part for part in parts if part)


GZIP_TYPE, PARQUET_TYPE = "application/gzip", "application/vnd.apache.parquet"

STAGING_DIR = "_staging"
"""Objects of a cut not yet committed sit under `<prefix>/_staging/<cut id>/` (the SQS
ledger's cuts, docs/decisions.md); `publish` copies them to their keys after the commit.
Readers skip folders that start with `_`, as Hive and Athena do."""


def staged_key(prefix: str, stage: str, key: str) -> str:
    """Where the object `key` of the cut `stage` waits for its commit."""
    root = prefix.strip("/")
    rest = key[len(root) :].lstrip("/") if root else key
    return "/".join(part for part in (root, STAGING_DIR, stage, rest) if part)


def is_staged(key: str) -> bool:
    return f"/{STAGING_DIR}/" in f"/{key}"


MANIFEST_DIR = "_quality"
"""Quality manifests sit under `<prefix>/_quality/`, one JSON object per batch written."""


def manifest_key(prefix: str, key: str) -> str:
    """Deterministic, like the object key, so a replayed batch overwrites its manifest."""
    rest = key[len(prefix.strip("/")) :].lstrip("/") if prefix.strip("/") else key
    for suffix in SUFFIXES.values():
        rest = rest.removesuffix(suffix)
    parts = [prefix.strip("/"), MANIFEST_DIR, rest + ".json"]
    return "/".join(part for part in parts if part)


def quality_tags(quality: dict[str, Any]) -> str:
    return urlencode(
        {
            "sluice-quality-score": f"{quality['score']:.4f}",
            "sluice-quality-decision": quality["decision"],
        }
    )


class S3Sink(SinkBase):
    reads_rows = False
    """Writes the encoded lines only: routes that write nowhere else skip building rows."""

    def __init__(self, name: str, config: S3SinkConfig, client: Any) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.suffix = SUFFIXES[config.format]
        self._columns: dict[str, Any] = {}
        """Parquet: the `Columns` converter of each route bound here."""

    def bind(self, route: RouteShape) -> RowCheck | None:
        if self.config.format != "parquet":
            return None
        from consumer.sinks.columns.route import bind_columns  # pyarrow only when needed

        self._columns[route.name], check = bind_columns(route, self.name)
        return check

    def _body(self, batch: Batch) -> tuple[bytes, str]:
        if self.config.format == "parquet":
            from consumer.sinks.columns.convert import parquet_bytes

            table = self._columns[batch.route].table(batch.lines)
            return parquet_bytes(table, self.config.compression), PARQUET_TYPE
        level = self.config.gzip_level
        return gzip_bytes(b"".join(batch.lines), level), GZIP_TYPE

    def write(self, batch: Batch) -> None:
        body, content_type = self._body(batch)
        key = object_key(self.config.prefix, batch, self.suffix)
        manifest = manifest_key(self.config.prefix, key)
        if batch.stage is not None:
            key = staged_key(self.config.prefix, batch.stage, key)
            manifest = staged_key(self.config.prefix, batch.stage, manifest)
        extra: dict[str, Any] = {}
        if batch.quality is not None:
            extra["Tagging"] = quality_tags(batch.quality)
        self.client.put_object(
            Bucket=self.config.bucket,
            Key=key,
            **extra,
            Body=body,
            ContentType=content_type,
            Metadata={
                "sluice-records": str(len(batch.lines)),
                "sluice-first-position": str(batch.first_position),
                "sluice-last-position": str(batch.last_position),
            },
        )

        if batch.quality is not None:  # after the object: a manifest never names a missing one
            self.client.put_object(
                Bucket=self.config.bucket,
                Key=manifest,
                Body=orjson.dumps(
                    {
                        **batch.quality,
                        "object": object_key(self.config.prefix, batch, self.suffix),
                        "written_at": time.time(),
                    }
                ),
                ContentType="application/json",
            )

    def publish(self, stage: str) -> int:
        """Copy the staged objects of the committed cut `stage` to their keys (objects
        before their quality manifests), then delete them. Idempotent: a publish that died
        half-way is done again whole. Returns how many objects were published."""
        bucket, prefix = self.config.bucket, self.config.prefix.strip("/")
        root = staged_key(prefix, stage, "") + "/"
        staged = [
            entry["Key"]
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=root
            )
            for entry in page.get("Contents", [])
        ]
        for key in sorted(staged, key=lambda k: f"/{MANIFEST_DIR}/" in k):
            final = "/".join(part for part in (prefix, key[len(root) :]) if part)
            self.client.copy_object(
                Bucket=bucket, Key=final, CopySource={"Bucket": bucket, "Key": key}
            )
        for start in range(0, len(staged), 1000):
            chunk = [{"Key": key} for key in staged[start : start + 1000]]
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
        return len(staged)

    def is_retriable(self, exc: BaseException) -> bool:
        if isinstance(exc, ClientError):
            return exc.response.get("Error", {}).get("Code") not in _NON_RETRIABLE_CODES
        return isinstance(exc, BotoCoreError | ConnectionError | TimeoutError)

    def close(self) -> None:
        return None


def iter_objects(
    s3: Any, bucket: str, prefix: str, skip: Container[str] = ()
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(key, rows) of every gzip'd JSON Lines object under `prefix`, but those in `skip`."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key in skip or not key.endswith(".jsonl.gz") or is_staged(key):
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines = gzip.decompress(body).splitlines()
            yield obj["Key"], [orjson.loads(line) for line in lines if line]


def iter_parquet(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(key, rows) of every Parquet object under `prefix`, staged ones left out; values as
    pyarrow reads them (datetimes, decimals)."""
    import io

    import pyarrow.parquet as pq

    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key.endswith(".parquet") or is_staged(key):
                continue
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            yield key, pq.read_table(io.BytesIO(body)).to_pylist()
