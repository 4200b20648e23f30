"""iceberg-maintenance on a table the sink wrote in many small commits: closed partitions
compacted to one file each with the same rows, a late write during a compaction not lost,
old snapshots expired but each partition's last commit kept (a replay after expiry still
commits nothing twice), staged files of aborted SQS cuts removed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from batch_jobs.registry import run_job
from consumer.delivery.assembly import assemble
from consumer.sinks.iceberg import maintenance, staging
from consumer.sinks.iceberg.commits import PARTITION, WRITER, without_pyiceberg_retries
from consumer.sinks.iceberg.maintenance import MAINTENANCE, Maintained
from consumer.sinks.iceberg.sink import IcebergSink
from tests.integration.iceberg_harness import (
    Lake,
    deliver,
    pipeline,
    readings,
    staged_batch,
)

pytestmark = pytest.mark.integration


def _small_commits(lake: Lake, tmp_path: Path) -> None:
    """30 readings over 3 hours from two shards, committed two rows at a time."""
    for shard, start in (("shard-a", 0), ("shard-b", 15)):
        parts = assemble(pipeline(lake, max_records=2), lake.aws, tmp_path)
        deliver(parts, readings(15, start=start, hours=3), partition=shard)


def _files_per_partition(lake: Lake) -> Counter[Any]:
    return Counter(task.file.partition[0] for task in lake.table().scan().plan_files())


def test_closed_partitions_are_compacted_to_one_file_with_the_same_rows(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a table of many small files (readings of 2026-11-22, long closed)
    _small_commits(lake, tmp_path)
    before = _files_per_partition(lake)
    assert len(before) == 3 and min(before.values()) >= 4
    # WHEN the job runs
    config = pipeline(lake)
    params = {"sink": "lake", "compact_min_files": "2"}
    result = run_job("iceberg-maintenance", params, config, lake.aws, (0, 1), tmp_path)
    # THEN every partition is one file, every reading still once
    assert result.inputs == 1 and result.records == 30
    assert set(_files_per_partition(lake).values()) == {1}
    assert lake.ids() == {f"r{i}": 1 for i in range(30)}
    last = lake.table().metadata.snapshots[-1].summary
    assert last is not None and last.additional_properties[MAINTENANCE] == "compact"
    # AND a rerun has nothing to do
    again = run_job("iceberg-maintenance", params, config, lake.aws, (0, 1), tmp_path)
    assert again.records == 0


def test_a_row_written_into_a_partition_during_its_compaction_is_kept(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN small files, and a late reading committed into the first hour while the
    # compaction has read that hour and not committed yet
    _small_commits(lake, tmp_path)
    late = assemble(pipeline(lake), lake.aws, tmp_path)
    planned = without_pyiceberg_retries
    raced: list[bool] = []

    def racing(table: Any) -> Any:
        if not raced:
            raced.append(True)
            deliver(late, readings(1, start=99), partition="late")  # hour 0 of 2026-11-22
        return planned(table)

    monkeypatch.setattr(maintenance, "without_pyiceberg_retries", racing)
    table = lake.table()
    done = Maintained()
    # WHEN the compaction commits THEN that partition's commit conflicts and is left
    maintenance.compact(table, 2, 3600, done)
    assert raced and done.conflicts == 1 and done.compacted_partitions == 2
    # AND the late row is in the table with every other row, once
    assert lake.ids() == {**{f"r{i}": 1 for i in range(30)}, "r99": 1}


def test_expiry_keeps_each_partitions_last_commit_so_a_replay_adds_nothing(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a table of many commits from two shards
    _small_commits(lake, tmp_path)
    table = lake.table()
    commits = len(table.metadata.snapshots)
    # WHEN every snapshot older than now is expired
    done = Maintained()
    maintenance.expire(lake.table(), 0, done)
    # THEN only each shard's last commit stays (the current snapshot is one of them)
    kept = lake.table().metadata.snapshots
    assert done.expired_snapshots == commits - 2 == commits - len(kept)
    assert sorted(s.summary.additional_properties[PARTITION] for s in kept if s.summary) == [
        "shard-a",
        "shard-b",
    ]
    # AND a replay of both shards from the start commits nothing: the positions are known
    for shard, start in (("shard-a", 0), ("shard-b", 15)):
        parts = assemble(pipeline(lake, max_records=7), lake.aws, tmp_path)
        deliver(parts, readings(15, start=start, hours=3), partition=shard)
    assert lake.ids() == {f"r{i}": 1 for i in range(30)}
    assert len(lake.table().metadata.snapshots) == 2
    assert all(s.summary and WRITER in s.summary.additional_properties for s in kept)


def test_staged_files_of_an_aborted_cut_are_removed(lake: Lake, tmp_path: Path) -> None:
    # GIVEN a cut staged and never published (the ledger aborted it)
    parts = assemble(pipeline(lake), lake.aws, tmp_path)
    sink = parts.sinks["lake"]
    assert isinstance(sink, IcebergSink)
    sink.write_cut([staged_batch(parts, "aborted", readings(3), 0)])
    table = sink.table(f"{lake.namespace}.readings")
    directory = staging.stage_dir(table, "lake", "aborted")
    assert len(staging.list_staged(table, directory)) == 1
    # WHEN staged files older than a day are removed THEN it stays; older than now: gone
    done = Maintained()
    maintenance.remove_staged(table, 86_400, done)
    assert done.staged_files_removed == 0
    maintenance.remove_staged(table, 0, done)
    assert done.staged_files_removed == 1 and staging.list_staged(table, directory) == []
    assert sink.publish("aborted") == 0 and lake.rows() == []
