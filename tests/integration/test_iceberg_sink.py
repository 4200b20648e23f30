"""The Iceberg sink against real catalogs (pyiceberg's SQL catalog on SQLite and on the
running PostgreSQL, Glue on the emulator) with data on the emulator's S3: each cut
commits once with its positions, a replay commits only what the table lacks, a zombie's
stale commit is refused and planned again, concurrent writers conflict and retry, upserts
keep the newest version, SQS cuts wait for their publish."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.delivery.assembly import assemble
from consumer.flow import Position
from consumer.pipeline.quarantine import QUARANTINE_ROUTE
from consumer.sinks.iceberg.commits import CUT, FIRST, LAST, PARTITION, WRITER
from consumer.sinks.iceberg.sink import IcebergSink
from consumer.sinks.memory import ListSink
from tests.conftest import require
from tests.contract.parts import Crashed
from tests.integration.iceberg_harness import (
    Lake,
    deliver,
    pipeline,
    readings,
    staged_batch,
)

pytestmark = pytest.mark.integration


def test_each_cut_commits_once_with_the_positions_it_covers(lake: Lake, tmp_path: Path) -> None:
    parts = assemble(pipeline(lake, max_records=5), lake.aws, tmp_path)
    cuts = deliver(parts, readings(12))
    assert [str(cut.last) for cut in cuts] == ["4-0", "9-0", "11-0"]
    assert lake.ids() == {f"r{i}": 1 for i in range(12)}
    commits = lake.commits()
    assert [(c[FIRST], c[LAST], c[PARTITION], c[WRITER]) for c in commits] == [
        ("0-0", "4-0", "p", "lake"),
        ("5-0", "9-0", "p", "lake"),
        ("10-0", "11-0", "p", "lake"),
    ]


def test_a_replay_that_cuts_elsewhere_commits_only_the_rows_the_table_lacks(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a cut of 5 rows committed to the table, then a crash before its ack
    parts = assemble(pipeline(lake, max_records=5), lake.aws, tmp_path)
    with pytest.raises(Crashed):
        deliver(parts, readings(12), crash=True)
    assert lake.ids() == {f"r{i}": 1 for i in range(5)}
    # WHEN a new process replays from the checkpoint and cuts everything at once
    again = assemble(pipeline(lake, max_records=100), lake.aws, tmp_path)
    [cut] = deliver(again, readings(12))
    # THEN the replayed cut commits only rows 5..11: every row once
    assert (cut.first, cut.last) == (Position(0), Position(11))
    assert lake.ids() == {f"r{i}": 1 for i in range(12)}
    assert [(c[FIRST], c[LAST]) for c in lake.commits()] == [("0-0", "4-0"), ("5-0", "11-0")]
    # AND a replay of everything, acked or not, adds nothing
    deliver(assemble(pipeline(lake, max_records=3), lake.aws, tmp_path), readings(12))
    assert lake.ids() == {f"r{i}": 1 for i in range(12)} and len(lake.commits()) == 2


def test_rows_of_a_source_without_stable_positions_are_all_committed(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a source whose positions are not identities (SQS without its ledger, a
    # quarantine replay): two runs hand different records the same positions 0..4
    deliver(assemble(pipeline(lake), lake.aws, tmp_path), readings(5), stable=False)
    second = readings(5, start=5)
    deliver(assemble(pipeline(lake), lake.aws, tmp_path), second, stable=False)
    # THEN both runs' rows are in the table (nothing skipped by position), and the commits
    # carry no positions a later run could misread
    assert lake.ids() == {f"r{i}": 1 for i in range(10)}
    assert all(FIRST not in commit for commit in lake.commits())
    # AND the same records with stable positions would have been skipped: the filter is real
    deliver(assemble(pipeline(lake), lake.aws, tmp_path), readings(5, start=10))
    deliver(assemble(pipeline(lake), lake.aws, tmp_path), readings(5, start=15))
    assert set(lake.ids()) == {f"r{i}" for i in range(15)}


def test_a_zombie_commit_planned_on_an_old_snapshot_is_refused_and_planned_again(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN two processes that both hold the same cut (the first a zombie whose lease
    # moved), and the second commits it while the first is between its plan and its commit
    zombie = assemble(pipeline(lake), lake.aws, tmp_path)
    other = assemble(pipeline(lake), lake.aws, tmp_path)
    sink = zombie.sinks["lake"]
    assert isinstance(sink, IcebergSink)
    commit = sink._commit
    raced: list[bool] = []

    def late(identifier: str, table: Any, data: Any, props: dict[str, str]) -> bool:
        if not raced:
            raced.append(True)
            deliver(other, readings(5))  # commits the same rows first
        return commit(identifier, table, data, props)

    sink._commit = late  # type: ignore[method-assign]
    sink.sleep = lambda seconds: None
    # WHEN the zombie commits THEN its commit conflicts, it plans again, finds the rows
    # committed, and commits nothing
    deliver(zombie, readings(5))
    assert raced and lake.ids() == {f"r{i}": 1 for i in range(5)}
    assert len(lake.commits()) == 1


def test_concurrent_writers_on_one_table_retry_their_conflicts(
    aws: AwsClients, unique: str, tmp_path: Path, pg_url: str
) -> None:
    # GIVEN four tasks writing their own partitions into one table, in small cuts, with
    # the catalog in PostgreSQL
    lake = Lake(aws, unique, pg_url)
    tasks = [assemble(pipeline(lake, max_records=2), aws, tmp_path) for _ in range(4)]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            deliver(tasks[index], readings(10, start=index * 10), partition=f"shard-{index}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN every row is in the table once, each partition's cuts committed in order
    assert not errors, errors
    assert lake.ids() == {f"r{i}": 1 for i in range(40)}
    for index in range(4):
        mine = [c for c in lake.commits() if c[PARTITION] == f"shard-{index}"]
        assert len(mine) == 5 and [c[FIRST] for c in mine] == sorted(
            (c[FIRST] for c in mine), key=lambda text: int(text.split("-")[0])
        )


def test_upserts_keep_the_newest_version_of_each_key(
    aws: AwsClients, unique: str, tmp_path: Path, pg_url: str
) -> None:
    lake = Lake(aws, unique, pg_url, mode="upsert")
    # GIVEN version 2 of ten readings in the table
    deliver(assemble(pipeline(lake), aws, tmp_path), readings(10, version=2), partition="a")
    # WHEN version 1 of all of them arrives late, and version 3 of the first five
    deliver(assemble(pipeline(lake), aws, tmp_path), readings(10, version=1), partition="b")
    deliver(assemble(pipeline(lake), aws, tmp_path), readings(5, version=3), partition="c")
    # THEN each key is in the table once, at its newest version
    rows = lake.rows()
    assert Counter(row["id"] for row in rows) == {f"r{i}": 1 for i in range(10)}
    assert {row["id"]: row["version"] for row in rows} == {
        f"r{i}": 3 if i < 5 else 2 for i in range(10)
    }
    table = lake.table()
    assert [table.schema().find_column_name(i) for i in table.schema().identifier_field_ids] == [
        "id"
    ]


def test_the_table_is_partitioned_by_the_time_field_and_gains_the_models_new_columns(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a table created from Reading, hourly on `at`
    deliver(assemble(pipeline(lake), lake.aws, tmp_path), readings(6, hours=3))
    table = lake.table()
    [field] = table.spec().fields
    assert (field.name, str(field.transform)) == ("at_hour", "hour")
    assert len({task.file.partition[0] for task in table.scan().plan_files()}) == 3
    # WHEN the route's model gains an optional field
    v2 = {"schema": "tests.integration.iceberg_harness:ReadingV2"}
    evolved = pipeline(lake, route=v2)
    row = orjson.loads(readings(1, start=6)[0])
    deliver(assemble(evolved, lake.aws, tmp_path), [orjson.dumps({**row, "note": "new"})], start=6)
    # THEN the table has the column; the rows before read it as null
    notes = {row["id"]: row["note"] for row in lake.rows()}
    assert notes == {**{f"r{i}": None for i in range(6)}, "r6": "new"}


def test_a_row_the_table_cannot_take_is_quarantined_at_stage_load(
    lake: Lake, tmp_path: Path
) -> None:
    route = {
        "transform": "tests.integration.iceberg_harness:scale",
        "output_model": "tests.integration.iceberg_harness:Scaled",
        "key": (),
        "version_field": None,
    }
    parts = assemble(pipeline(lake, route=route), lake.aws, tmp_path)
    deliver(parts, readings(20))
    quarantine = parts.sinks["quarantine"]
    assert isinstance(quarantine, ListSink)
    [bad] = [row for row in quarantine.rows if row.get("route") == "readings"]
    assert (bad["stage"], bad["error_type"]) == ("load", "UnstorableValue")
    assert "field 'value': expected an integer" in str(bad["message"])
    assert lake.ids() == {f"r{i}": 1 for i in range(20) if i != 13}
    assert {row["value"] for row in lake.rows()} == {i * 10 for i in range(20) if i != 13}
    assert all(row["route"] != QUARANTINE_ROUTE for row in quarantine.rows)


def test_an_sqs_cut_is_invisible_until_published_and_published_once(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a ledger cut's rows written as staged
    parts = assemble(pipeline(lake), lake.aws, tmp_path)
    sink = parts.sinks["lake"]
    sink.write_cut([staged_batch(parts, "cut-1", readings(4), 0)])
    sink.write_cut([staged_batch(parts, "cut-1", readings(4), 0)])  # a retried write
    assert lake.rows() == []
    # WHEN the cut is published, twice (a crash after the commit, another consumer)
    assert sink.publish("cut-1") == 1
    other = assemble(pipeline(lake), lake.aws, tmp_path).sinks["lake"]
    assert other.publish("cut-1") == 0
    # THEN its rows are in the table once, in a commit naming the cut
    assert lake.ids() == {f"r{i}": 1 for i in range(4)}
    assert [c[CUT] for c in lake.commits()] == ["cut-1"]


def test_a_publish_that_died_after_its_commit_does_not_commit_again(
    lake: Lake, tmp_path: Path
) -> None:
    # GIVEN a cut committed to the table whose staged files were never deleted
    parts = assemble(pipeline(lake), lake.aws, tmp_path)
    sink = parts.sinks["lake"]
    assert isinstance(sink, IcebergSink)
    sink.write_cut([staged_batch(parts, "cut-2", readings(3), 0)])
    identifier = f"{lake.namespace}.readings"
    table, _ = sink._current(identifier)
    from consumer.sinks.iceberg import staging

    staged = staging.list_staged(table, staging.stage_dir(table, "lake", "cut-2"))
    data = staging.read_staged(table, staged[0])
    assert sink._commit(identifier, table, data, {WRITER: "lake", CUT: "cut-2"})
    # WHEN a fresh process publishes the cut THEN it sees the cut id, commits nothing more,
    # and cleans the staged files
    fresh = assemble(pipeline(lake), lake.aws, tmp_path).sinks["lake"]
    assert fresh.publish("cut-2") == 1
    assert lake.ids() == {f"r{i}": 1 for i in range(3)} and len(lake.commits()) == 1
    assert staging.list_staged(table, staging.stage_dir(table, "lake", "cut-2")) == []


def test_the_glue_catalog_on_the_emulator(aws: AwsClients, unique: str, tmp_path: Path) -> None:
    lake = Lake(aws, unique, "unused")
    lake.sink["catalog"] = {"type": "glue", "warehouse": lake.sink["catalog"]["warehouse"]}
    parts = assemble(pipeline(lake, max_records=4), aws, tmp_path)
    try:
        deliver(parts, readings(10))
    except Exception as exc:  # pragma: no cover - an emulator without Glue tables
        require(False, f"the emulator's Glue does not serve pyiceberg: {exc}")
    assert lake.ids() == {f"r{i}": 1 for i in range(10)}
    assert [(c[FIRST], c[LAST]) for c in lake.commits()] == [
        ("0-0", "3-0"),
        ("4-0", "7-0"),
        ("8-0", "9-0"),
    ]
    glue = aws.client("glue").get_table(DatabaseName=lake.namespace, Name="readings")
    assert glue["Table"]["Parameters"]["table_type"] == "ICEBERG"
