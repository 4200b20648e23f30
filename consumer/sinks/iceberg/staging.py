"""Rows of an SQS ledger cut wait in Parquet files beside the table until the cut commits
in the ledger; `publish` then commits them to the table in one snapshot tagged with the
cut's id and deletes them (docs/decisions.md, "SQS into the lake exactly once").

They sit under `<table location>/_sluice_staging/<writer>/<cut>/`, which no Iceberg
reader looks at (a table's files are only those its metadata lists); a cut that is never
committed leaves orphans there, which the expire job removes (batch_jobs/jobs/iceberg.py).
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pa_fs
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import Table

from consumer.flow import Batch
from consumer.pipeline.partitioning import sanitize
from consumer.sinks.columns.convert import parquet_bytes

STAGING_DIR = "_sluice_staging"


def stage_dir(table: Table, writer: str, stage: str) -> str:
    return f"{table.location().rstrip('/')}/{STAGING_DIR}/{sanitize(writer)}/{sanitize(stage)}"


def staged_name(batch: Batch) -> str:
    """Deterministic, like an S3 key: a batch written again replaces its own file."""
    first = batch.first_position
    parts = (batch.route, batch.output_partition, batch.source, batch.partition)
    return ".".join(sanitize(part) for part in parts) + f".{first.sequence}-{first.sub}.parquet"


def write_staged(table: Table, directory: str, batch: Batch, data: pa.Table) -> None:
    output = table.io.new_output(f"{directory}/{staged_name(batch)}")
    with output.create(overwrite=True) as stream:
        stream.write(parquet_bytes(data))


def file_system(table: Table, location: str) -> tuple[pa_fs.FileSystem, str, str]:
    if not isinstance(table.io, PyArrowFileIO):  # pragma: no cover - the default FileIO
        raise TypeError("staging needs pyiceberg's PyArrowFileIO")
    scheme, netloc, path = PyArrowFileIO.parse_location(location)
    return table.io.fs_by_scheme(scheme, netloc), scheme, path


def list_staged(table: Table, directory: str) -> list[str]:
    """The staged files of one cut, by name."""
    filesystem, scheme, path = file_system(table, directory)
    selector = pa_fs.FileSelector(path, recursive=True, allow_not_found=True)
    found = [
        info.path
        for info in filesystem.get_file_info(selector)
        if info.type == pa_fs.FileType.File and info.path.endswith(".parquet")
    ]
    return [f"{scheme}://{path}" for path in sorted(found)]


def read_staged(table: Table, location: str) -> pa.Table:
    with table.io.new_input(location).open() as stream:
        return pq.read_table(io.BytesIO(stream.read()))


def delete_staged(table: Table, locations: list[str]) -> None:
    for location in locations:
        table.io.delete(location)
