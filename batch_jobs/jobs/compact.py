"""compact: merge the small objects of each closed lake partition into one.

JSON Lines objects become one gzip JSON Lines object, Parquet objects one Parquet object
(their schemas unified: a column missing from older files is null there). A folder
holding both formats is left alone and logged: two sinks share a prefix.

Per partition folder, with `_sluice_manifest.json` telling readers which objects are live:
1. record the intent in the manifest (`pending`: output key and inputs; live: the inputs);
2. write the merged object, its name derived from its inputs (a rerun writes the same);
3. make the output the live set (`pending` kept, phase `delete`);
4. delete the inputs, then drop `pending`.
A crash anywhere leaves a `pending` entry that the next run finishes first, so the
output's lines are never merged again with its own inputs. Readers that honour the
manifest see the old set or the new one; readers that list the folder (Athena) can see
both for the seconds between steps 2 and 4. Only partitions whose newest object is older
than `older_than_s` are touched: streaming writers have left them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import time
from collections import defaultdict
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from batch_jobs.parts import select
from batch_jobs.runner import BatchPipeline, JobResult
from consumer.sinks.gzipped import gzip_bytes
from consumer.sinks.s3 import is_staged

MANIFEST = "_sluice_manifest.json"
log = logging.getLogger(__name__)


def _suffix(inputs: list[str]) -> str | None:
    """The output's suffix: `.parquet` for Parquet inputs, `.jsonl.gz` for JSON Lines ones,
    None for a mix."""
    kinds = {".parquet" if key.endswith(".parquet") else ".jsonl.gz" for key in inputs}
    return kinds.pop() if len(kinds) == 1 else None


def output_key(folder: str, inputs: list[str]) -> str:
    """The merged object's key, derived from its inputs: a rerun writes the same."""
    digest = hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:16]
    return f"{folder}/compacted-{digest}{_suffix(inputs)}"


class CompactParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str
    prefix: str = Field(min_length=1)
    min_objects: int = Field(2, ge=2, description="compact folders with at least this many")
    older_than_s: float = Field(3600.0, ge=0, description="newest object at least this old")
    gzip_level: int = Field(1, ge=1, le=9)
    parquet_compression: Literal["zstd", "snappy"] = "zstd"


def _folders(s3: Any, bucket: str, prefix: str) -> dict[str, dict[str, float]]:
    folders: dict[str, dict[str, float]] = defaultdict(dict)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            folder, _, name = obj["Key"].rpartition("/")
            if name != MANIFEST and not is_staged(obj["Key"]):
                folders[folder][obj["Key"]] = obj["LastModified"].timestamp()
    return folders


class Folder:
    def __init__(self, s3: Any, bucket: str, folder: str, params: CompactParams) -> None:
        self.s3, self.bucket, self.folder, self.params = s3, bucket, folder, params
        self.manifest_key = f"{folder}/{MANIFEST}"

    def manifest(self) -> dict[str, Any]:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.manifest_key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return {}
        loaded: dict[str, Any] = orjson.loads(body)
        return loaded

    def write_manifest(self, live: list[str], pending: dict[str, Any] | None) -> None:
        body = {"live": sorted(live), **({"pending": pending} if pending else {})}
        self.s3.put_object(Bucket=self.bucket, Key=self.manifest_key, Body=orjson.dumps(body))

    def merge(self, inputs: list[str]) -> tuple[str, int]:
        """Write the merged object; its key and how many records it holds."""
        output = output_key(self.folder, inputs)
        if output.endswith(".parquet"):
            body, records = self._merged_parquet(inputs)
        else:
            lines = b"".join(self._lines(key) for key in inputs)
            body = gzip_bytes(lines, self.params.gzip_level)
            records = lines.count(b"\n")
        self.s3.put_object(Bucket=self.bucket, Key=output, Body=body)
        return output, records

    def _body(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def _lines(self, key: str) -> bytes:
        body = self._body(key)
        data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        return data if data.endswith(b"\n") or not data else data + b"\n"

    def _merged_parquet(self, inputs: list[str]) -> tuple[bytes, int]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from consumer.sinks.columns.convert import parquet_bytes

        tables = [pq.read_table(io.BytesIO(self._body(key))) for key in inputs]
        merged = pa.concat_tables(tables, promote_options="default")
        return parquet_bytes(merged, self.params.parquet_compression), merged.num_rows

    def finish(self, pending: dict[str, Any]) -> None:
        """Steps 3 and 4 of a compaction that wrote its output."""
        self.write_manifest([pending["output"]], {**pending, "phase": "delete"})
        for key in pending["inputs"]:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.write_manifest([pending["output"]], None)


def compact(
    job: BatchPipeline, s3: Any, params: CompactParams, part: tuple[int, int], result: JobResult
) -> None:
    now = time.time()
    folders = _folders(s3, params.bucket, params.prefix)
    for name in select(sorted(folders), *part):
        folder = Folder(s3, params.bucket, name, params)
        objects = folders[name]
        pending = folder.manifest().get("pending")
        if pending:  # a crashed run: finish it, never merge its output again
            if pending.get("phase") != "delete" and pending["output"] not in objects:
                pending["output"], _ = folder.merge(pending["inputs"])
            folder.finish(pending)
            result.inputs += 1
            continue
        inputs = sorted(objects)
        if len(inputs) < params.min_objects or now - max(objects.values()) < params.older_than_s:
            continue
        if _suffix(inputs) is None:
            log.warning(
                "compact: folder left alone, it holds JSON Lines and Parquet objects "
                "(do two sinks share a prefix?)",
                extra={"folder": name},
            )
            continue
        intent = {"output": output_key(name, inputs), "inputs": inputs}
        folder.write_manifest(inputs, intent)
        output, records = folder.merge(inputs)
        folder.finish({**intent, "output": output})
        result.inputs += 1
        result.records += records
        result.written += records
