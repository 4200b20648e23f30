"""A batch's JSON lines as an Arrow table of the route's schema, and as Parquet bytes.

Arrow's JSON reader parses the lines in C++ against the schema, which keeps a Parquet
batch close to the cost of gzip'd JSON Lines (docs/performance.md). It cannot read
dates or binary from JSON strings, so those columns are read as strings and cast after;
decimals are read at the widest precision and narrowed by the same cast.
Every line reaching here passed the route's check (consumer/sinks/columns/check.py), so
the reader accepts all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

Compression = Literal["zstd", "snappy"]


class Columns:
    """Converts JSON lines into tables of one schema."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.read_schema = pa.schema([field.with_type(_readable(field.type)) for field in schema])
        self._parse = pa_json.ParseOptions(
            explicit_schema=self.read_schema, unexpected_field_behavior="error"
        )

    def table(self, lines: Sequence[bytes]) -> pa.Table:
        if not lines:
            return self.schema.empty_table()
        data = b"".join(lines)
        read = pa_json.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 20))
        table = pa_json.read_json(
            pa.BufferReader(data), read_options=read, parse_options=self._parse
        )
        return table if table.schema == self.schema else table.cast(self.schema)


def parquet_bytes(table: pa.Table, compression: Compression = "zstd") -> bytes:
    """One Parquet file holding `table`, statistics on, as Athena prunes by them."""
    out = pa.BufferOutputStream()
    pq.write_table(table, out, compression=compression)
    return bytes(out.getvalue().to_pybytes())


def _readable(kind: pa.DataType) -> pa.DataType:
    """What the JSON reader reads for `kind`: strings where it cannot parse the type."""
    if pa.types.is_date32(kind) or pa.types.is_binary(kind):
        return pa.string()
    if pa.types.is_decimal128(kind):
        # The reader counts a literal's digits as written: "4457325.8390" needs precision
        # 11 even though it fits decimal(10, 3) once its trailing zero goes. Read at the
        # widest precision, then the cast narrows what the check proved fits.
        return pa.decimal128(38, kind.scale)
    if pa.types.is_decimal256(kind):
        return pa.decimal256(76, kind.scale)
    if pa.types.is_list(kind):
        return pa.list_(_readable(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_readable(field.type)) for field in kind])
    return kind
