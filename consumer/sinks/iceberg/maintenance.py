"""Keeping an Iceberg table sluice writes small and readable (the `iceberg-maintenance`
batch job, batch_jobs/jobs/iceberg.py):

- **compact**: each closed time partition (its hour or day ended at least
  `older_than_s` ago) with at least `min_files` data files is rewritten as one, in one
  commit that replaces exactly that partition's files. The commit requires the snapshot it
  read: a late row committed meanwhile makes it fail and the partition waits for the next
  run (nothing is lost, nothing rebased). Tables without a time partition are left alone.
- **expire**: snapshots older than `older_than_s` leave the metadata, except each
  writer's last commit of each source partition, which the sink reads to skip what a
  replay brings again (docs/lake.md, "Exactly once"). Keep `older_than_s` above the
  longest a source may replay: an SQS ledger cut can be published again for the queue's
  retention plus a day, so the job's default is 15 days.
- **staging**: files of SQS cuts staged under `_sluice_staging/` and older than
  `older_than_s` are deleted: cuts the ledger aborted, never to be published.

Expiry does not delete data files: those only an expired snapshot referenced stay until a
remove-orphan-files procedure (Athena's VACUUM) removes them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyarrow import fs as pa_fs
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
)
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, HourTransform, IdentityTransform

from consumer.sinks.iceberg import staging
from consumer.sinks.iceberg.commits import last_commits, without_pyiceberg_retries

log = logging.getLogger(__name__)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAINTENANCE = "sluice.maintenance"
"""Summary property of maintenance commits (no positions: the sink's reads skip them)."""


@dataclass
class Maintained:
    compacted_partitions: int = 0
    files_before: int = 0
    files_after: int = 0
    rows_rewritten: int = 0
    conflicts: int = 0
    expired_snapshots: int = 0
    staged_files_removed: int = 0


def compact(table: Table, min_files: int, older_than_s: float, out: Maintained) -> None:
    spec = table.spec()
    schema = table.schema()
    time_fields = [f for f in spec.fields if isinstance(f.transform, HourTransform | DayTransform)]
    if len(time_fields) != 1:
        log.info("not compacted: no time partition", extra={"table": str(table.name())})
        return
    files: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for task in table.scan().plan_files():
        files[tuple(task.file.partition)].append(task.file)  # type: ignore[arg-type]
    for values, found in sorted(files.items(), key=lambda item: str(item[0])):
        if len(found) < min_files:
            continue
        row_filter = _partition_filter(spec.fields, schema, values, older_than_s)
        if row_filter is None:
            continue
        _rewrite(table, row_filter, len(found), out)


def _rewrite(table: Table, row_filter: BooleanExpression, files: int, out: Maintained) -> None:
    table.refresh()
    data = table.scan(row_filter=row_filter).to_arrow()
    tx = without_pyiceberg_retries(table).transaction()
    tx.overwrite(data, overwrite_filter=row_filter, snapshot_properties={MAINTENANCE: "compact"})
    try:
        tx.commit_transaction()
    except CommitFailedException:  # a write landed in the partition: the next run
        out.conflicts += 1
        return
    out.compacted_partitions += 1
    out.files_before += files
    out.files_after += 1
    out.rows_rewritten += data.num_rows


def _partition_filter(
    fields: Sequence[Any], schema: Any, values: tuple[Any, ...], older_than_s: float
) -> BooleanExpression | None:
    """The rows of one partition, or None while its time range is still open."""
    row_filter: BooleanExpression = AlwaysTrue()
    for field, value in zip(fields, values, strict=True):
        column = schema.find_column_name(field.source_id)
        if isinstance(field.transform, HourTransform | DayTransform):
            if value is None:
                row_filter = And(row_filter, IsNull(term=column))
                continue
            hours = 1 if isinstance(field.transform, HourTransform) else 24
            start = EPOCH + dt.timedelta(hours=value * hours)
            end = start + dt.timedelta(hours=hours)
            if end.timestamp() > time.time() - older_than_s:
                return None
            row_filter = And(
                row_filter,
                And(
                    GreaterThanOrEqual(term=column, value=start.isoformat()),
                    LessThan(term=column, value=end.isoformat()),
                ),
            )
        elif isinstance(field.transform, IdentityTransform):
            row_filter = And(
                row_filter,
                IsNull(term=column) if value is None else EqualTo(term=column, value=value),
            )
        else:  # pragma: no cover - sluice creates no other partition
            return None
    return row_filter


def expire(table: Table, older_than_s: float, out: Maintained) -> None:
    table.refresh()
    metadata = table.metadata
    keep = set(last_commits(metadata).values())
    current = metadata.current_snapshot_id
    cutoff_ms = (time.time() - older_than_s) * 1000
    expired = [
        s.snapshot_id
        for s in metadata.snapshots
        if s.timestamp_ms < cutoff_ms and s.snapshot_id not in keep and s.snapshot_id != current
    ]
    if not expired:
        return
    without_pyiceberg_retries(table).maintenance.expire_snapshots().by_ids(expired).commit()
    out.expired_snapshots += len(expired)


def remove_staged(table: Table, older_than_s: float, out: Maintained) -> None:
    root = f"{table.location().rstrip('/')}/{staging.STAGING_DIR}"
    filesystem, scheme, path = staging.file_system(table, root)
    selector = pa_fs.FileSelector(path, recursive=True, allow_not_found=True)
    cutoff = time.time() - older_than_s
    for info in filesystem.get_file_info(selector):
        if info.type != pa_fs.FileType.File or info.mtime is None:
            continue
        if info.mtime.timestamp() < cutoff:
            table.io.delete(f"{scheme}://{info.path}")
            out.staged_files_removed += 1
