"""Parquet objects as JSON records, a bounded batch of rows at a time.

Parquet needs random access (its footer sits at the end), so the object is first copied
to a temporary file (in `TMPDIR`, the task's scratch volume; small objects stay in
memory): memory then holds one batch of rows, never the object. Before any row is
handed out, every row group is decoded once (columnar, fast next to the per-row JSON
work): an object that is garbage, truncated or corrupt in any row group fails whole, as
`RecordError("decode", "InvalidParquet", reason)`, before a single row of it is written.

Each row becomes one JSON object (orjson): dates and times as ISO 8601 (naive timestamps
stay naive, zoned ones keep their offset), decimals as exact JSON numbers, bytes as
base64, durations as seconds, maps as objects. Nanosecond units are truncated to
microseconds, the finest Python's datetime holds.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from consumer.errors import RecordError

_CHUNK = 1 << 20
_IN_MEMORY = 8 << 20
"""Objects up to this size are spooled in memory, larger ones on disk."""
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    """What orjson cannot write by itself."""
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else None
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return str(value)


def row_json(row: dict[str, Any]) -> bytes:
    """One Parquet row (as pyarrow's `to_pylist` gives it) as one JSON object."""
    return orjson.dumps(row, default=_default, option=_OPTIONS)


def _micro(kind: pa.DataType) -> pa.DataType:
    """`kind` with nanosecond timestamps, times and durations made microseconds, nested
    types included: Python's datetime has no nanoseconds."""
    if getattr(kind, "unit", None) == "ns":
        if pa.types.is_timestamp(kind):
            return pa.timestamp("us", kind.tz)
        return pa.time64("us") if pa.types.is_time64(kind) else pa.duration("us")
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_micro(field.type)) for field in kind])
    if pa.types.is_map(kind):
        return pa.map_(_micro(kind.key_type), _micro(kind.item_type))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        make = pa.list_ if pa.types.is_list(kind) else pa.large_list
        return make(kind.value_field.with_type(_micro(kind.value_type)))
    return kind


class ParquetObject:
    """One S3 object, checked to be valid Parquet, read back as JSON lines."""

    def __init__(self, s3: Any, bucket: str, key: str, max_object_bytes: int) -> None:
        self.name = f"s3://{bucket}/{key}"
        # closed by close(): the spool lives as long as this object
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        try:
            self._download(s3, bucket, key, max_object_bytes)
            self.file = self._open()
        except BaseException:
            self.close()
            raise
        schema = self.file.schema_arrow
        self._target = pa.schema([field.with_type(_micro(field.type)) for field in schema])
        self._cast = self._target != schema

    def _download(self, s3: Any, bucket: str, key: str, limit: int) -> None:
        try:
            response = s3.get_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise RecordError("decode", "ObjectUnreadable", f"{self.name}: {exc}") from None
        if response["ContentLength"] > limit:
            raise RecordError(
                "decode",
                "ObjectTooLarge",
                f"{self.name} has {response['ContentLength']} bytes, over max_object_bytes={limit}",
            )
        for chunk in iter(lambda: response["Body"].read(_CHUNK), b""):
            self._spool.write(chunk)
        self._spool.seek(0)

    def _open(self) -> Any:
        """The file's footer read, and every row group decoded once (then dropped)."""
        try:
            parquet = pq.ParquetFile(self._spool)
            for group in range(parquet.num_row_groups):
                parquet.read_row_group(group)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise RecordError("decode", "InvalidParquet", f"{self.name}: {exc}") from None
        return parquet

    @property
    def rows(self) -> int:
        count: int = self.file.metadata.num_rows
        return count

    def lines(self, batch_rows: int) -> Iterator[bytes]:
        """Every row as a JSON object, in file order, `batch_rows` rows in memory at most."""
        for batch in self.file.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            if self._cast:
                table = table.cast(self._target, safe=False)
            for row in table.to_pylist(maps_as_pydicts="lossy"):
                yield row_json(row)

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> ParquetObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
