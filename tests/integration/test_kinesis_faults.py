"""Reshards, expired iterators, throttling and KPL aggregates, against the emulator."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from consumer.aws import AwsClients
from consumer.producer import aggregate_groups
from tests.faults import FaultyClient
from tests.integration.harness import Harness, kinesis_reader, reading

pytestmark = pytest.mark.integration


def _assert_exactly_once(harness: Harness, count: int) -> None:
    lake = harness.lake_ids()
    assert set(lake) == {f"r{i}" for i in range(count)}
    assert max(lake.values()) == 1


def test_reshard_on_the_emulator_ends_the_parent_and_starts_its_children(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN records on a stream, then a split of shard 0, then more records. (moto still
    # routes new records to the closed parent, so child-after-parent order is proven in
    # tests/unit/test_reader_reshard.py with a fake that reshards like Kinesis.)
    harness = Harness.create(aws, unique, tmp_path, max_records=20)
    kinesis = aws.client("kinesis")
    stream = harness.stream
    harness.put([reading(i) for i in range(200)])
    parent = kinesis.list_shards(StreamName=stream)["Shards"][0]
    end = int(parent["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(
        StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(end // 2)
    )
    harness.put([reading(i) for i in range(200, 400)])
    children = {
        s["ShardId"]
        for s in kinesis.list_shards(StreamName=stream)["Shards"]
        if s.get("ParentShardId") == parent["ShardId"]
    }

    # WHEN the consumer runs until drained
    service = harness.run()

    # THEN everything arrives once, the parent is ended and both children were started
    _assert_exactly_once(harness, 400)
    reader = kinesis_reader(service)
    assert parent["ShardId"] in reader.finished
    assert children <= set(reader.active) | reader.finished


def test_expired_iterator_is_renewed_after_the_last_record_read(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a client whose 3rd and 4th GetRecords calls fail with an expired iterator
    harness = Harness.create(aws, unique, tmp_path, max_records=7)
    harness.put([reading(i) for i in range(300)])
    service = harness.service()
    faulty = FaultyClient(kinesis_reader(service).client)
    faulty.faults["get_records"] = lambda n: "ExpiredIteratorException" if n in (3, 4) else None
    kinesis_reader(service).client = faulty

    # WHEN consuming with small reads (10 records per call)
    kinesis_reader(service).config = kinesis_reader(service).config.model_copy(
        update={"max_records_per_call": 10}
    )
    service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN no gap and no duplicate
    assert faulty.calls["get_shard_iterator"] >= 4
    _assert_exactly_once(harness, 300)


def test_throttling_backs_off_and_completes(aws: AwsClients, unique: str, tmp_path: Path) -> None:
    # GIVEN a client that throttles every other GetRecords call
    harness = Harness.create(aws, unique, tmp_path)
    harness.put([reading(i) for i in range(200)])
    service = harness.service()
    faulty = FaultyClient(kinesis_reader(service).client)
    faulty.faults["get_records"] = lambda n: (
        "ProvisionedThroughputExceededException" if n % 2 else None
    )
    kinesis_reader(service).client = faulty

    # WHEN consumed
    service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN it completes with nothing lost
    _assert_exactly_once(harness, 200)


def test_kpl_aggregated_records_are_deaggregated(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 100 readings packed into KPL aggregates of 7, and 20 plain ones
    harness = Harness.create(aws, unique, tmp_path, max_records=9)
    packed = aggregate_groups([reading(i) for i in range(100)], group_size=7)
    harness.put(packed + [reading(i) for i in range(100, 120)])

    # WHEN consumed, with cuts falling inside aggregates
    service = harness.run()

    # THEN every user record arrives once
    assert service.stats.records_in == 120
    _assert_exactly_once(harness, 120)


def test_sigterm_style_stop_flushes_and_checkpoints(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a consumer with a long max age, so records stay buffered
    harness = Harness.create(aws, unique, tmp_path, max_records=10_000, max_age_s=300)
    harness.put([reading(i) for i in range(150)])
    service = harness.service()

    # WHEN it is asked to stop while records are buffered
    timer = threading.Timer(3.0, service.stop.set)
    timer.start()
    service.run(max_runtime_s=30)
    service.close()
    timer.cancel()

    # THEN the buffered records were flushed and checkpointed: a restart reads nothing
    _assert_exactly_once(harness, 150)
    assert harness.run().stats.records_in == 0
