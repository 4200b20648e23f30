"""The polling reader against the emulator over HTTP: all shards, checkpoints, resume."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from tests.integration.harness import Harness, kinesis_reader, reading

pytestmark = pytest.mark.integration


def test_consumes_every_shard_and_writes_lake_and_db(
    aws: AwsClients, unique: str, tmp_path: Path, transform: str
) -> None:
    # GIVEN 400 readings spread over a two-shard stream
    harness = Harness.create(aws, unique, tmp_path, transform=transform)
    harness.put([reading(i) for i in range(400)])

    # WHEN the consumer runs until drained
    service = harness.run()

    # THEN every reading is in the lake and the database exactly once
    expected = {f"r{i}" for i in range(400)}
    lake = harness.lake_ids()
    assert set(lake) == expected and max(lake.values()) == 1
    assert set(harness.db_ids()) == expected
    assert service.stats.records_in == 400
    assert service.stats.records_quarantined == 0


def test_restart_resumes_from_checkpoint_without_rereading(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a first run that consumed 200 readings
    harness = Harness.create(aws, unique, tmp_path)
    harness.put([reading(i) for i in range(200)])
    harness.run()

    # WHEN 100 more arrive and a new consumer starts
    harness.put([reading(i) for i in range(200, 300)])
    second = harness.run()

    # THEN the second run reads only the new ones, and nothing is duplicated
    assert second.stats.records_in == 100
    lake = harness.lake_ids()
    assert len(lake) == 300 and max(lake.values()) == 1


def test_per_key_order_is_kept_within_the_lake(
    aws: AwsClients, unique: str, tmp_path: Path, transform: str
) -> None:
    # GIVEN readings with increasing per-key sequence numbers
    harness = Harness.create(aws, unique, tmp_path, transform=transform)
    harness.put([reading(i) for i in range(300)])

    # WHEN consumed
    harness.run()

    # THEN, objects read in key order (deterministic names by first position), each key's
    # sequence numbers only grow
    last: dict[str, int] = {}
    for row in harness.lake_rows():
        assert row["seq"] > last.get(row["key"], -1)
        last[row["key"]] = row["seq"]
    assert len(last) == 10


def _with_source(harness: Harness, **source: object) -> None:
    update = harness.config.source.model_copy(update=source)
    harness.config = harness.config.model_copy(update={"source": update})


def test_latest_starts_after_the_records_already_there(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 50 old records and a consumer starting at LATEST
    harness = Harness.create(aws, unique, tmp_path)
    harness.put([reading(i) for i in range(50)])
    _with_source(harness, initial_position="LATEST")
    service = harness.service()
    kinesis_reader(service).sync_shards()

    # WHEN 30 records arrive after it took its iterators
    harness.put([reading(i) for i in range(50, 80)])
    service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN it consumed only those
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(50, 80)}


def test_at_timestamp_starts_at_that_time(aws: AwsClients, unique: str, tmp_path: Path) -> None:
    # GIVEN 40 records, a moment, then 25 more
    harness = Harness.create(aws, unique, tmp_path)
    harness.put([reading(i) for i in range(40)])
    time.sleep(1.1)
    moment = datetime.now(UTC)
    time.sleep(1.1)
    harness.put([reading(i) for i in range(40, 65)])

    # WHEN a consumer starts AT_TIMESTAMP that moment
    _with_source(harness, initial_position="AT_TIMESTAMP", initial_timestamp=moment)
    harness.run()

    # THEN it consumed the 25 later ones only
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(40, 65)}
