"""Reshards, expired iterators, throttling and KPL aggregates, against the emulator."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from consumer.local.producer import aggregate_groups
from consumer.sources.kinesis.checkpoints import DynamoCheckpointStore
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
    # GIVEN records on a stream, then a split of shard 0, then more records (the embedded
    # emulator reshards as Kinesis does: consumer/local/emulator_reshard.py)
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

    # THEN everything arrives once, the parent holds only what was put before the split,
    # its children what came after, and the parent was read to its end
    _assert_exactly_once(harness, 400)
    by_shard: dict[str, set[int]] = {}
    for shard, rows in harness.lake_rows_by_shard().items():
        by_shard[shard] = {int(row["id"][1:]) for row in rows}
    assert max(by_shard[parent["ShardId"]]) < 200
    assert all(min(by_shard[child]) >= 200 for child in children)
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


def test_a_closed_shard_read_to_its_end_names_its_children(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a shard with records, split into two children
    harness = Harness.create(aws, unique, tmp_path)
    kinesis = aws.client("kinesis")
    harness.put([reading(i) for i in range(50)])
    parent = kinesis.list_shards(StreamName=harness.stream)["Shards"][0]
    end = int(parent["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(
        StreamName=harness.stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(end // 2)
    )
    iterator = kinesis.get_shard_iterator(
        StreamName=harness.stream, ShardId=parent["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    # WHEN it is read until GetRecords has nothing more (bounded)
    records, response = 0, {}
    for _ in range(10):
        response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        records += len(response["Records"])
        if "NextShardIterator" not in response:
            break
        iterator = response["NextShardIterator"]

    # THEN the last answer ends the shard as Kinesis does: no next iterator, the children
    assert records > 0
    assert "NextShardIterator" not in response
    assert {child["ShardId"] for child in response["ChildShards"]} == {
        s["ShardId"]
        for s in kinesis.list_shards(StreamName=harness.stream)["Shards"]
        if s.get("ParentShardId") == parent["ShardId"]
    }
    assert all(child["ParentShards"] == [parent["ShardId"]] for child in response["ChildShards"])


def test_throttled_checkpoint_writes_back_off_and_complete(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a checkpoint table that throttles every other read and write
    harness = Harness.create(aws, unique, tmp_path, max_records=20)
    harness.put([reading(i) for i in range(200)])
    service = harness.service()
    store = kinesis_reader(service).checkpoints
    assert isinstance(store, DynamoCheckpointStore)
    faulty = FaultyClient(store.client)
    throttled = "ProvisionedThroughputExceededException"
    faulty.faults["update_item"] = lambda n: throttled if n % 2 else None
    faulty.faults["get_item"] = lambda n: throttled if n % 2 else None
    store.client = faulty

    # WHEN consumed
    service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN it backed off and completed: every record once, every shard checkpointed
    assert faulty.calls["update_item"] >= 10
    _assert_exactly_once(harness, 200)
    fresh = harness.service()
    stored = kinesis_reader(fresh).checkpoints
    shards = [
        s["ShardId"] for s in aws.client("kinesis").list_shards(StreamName=harness.stream)["Shards"]
    ]
    assert all(stored.load(shard).position is not None for shard in shards)
    fresh.close()


@pytest.mark.parametrize("reshard", ["split", "merge"])
def test_a_reshard_mid_run_keeps_per_key_order_and_loses_nothing(
    aws: AwsClients, unique: str, tmp_path: Path, reshard: str
) -> None:
    # GIVEN a consumer running on two shards
    harness = Harness.create(aws, unique, tmp_path, max_records=20)
    kinesis = aws.client("kinesis")
    harness.put([reading(i) for i in range(300)])
    service = harness.service()
    runner = threading.Thread(target=service.run, kwargs={"max_runtime_s": 20})
    runner.start()
    try:
        # WHEN, once it has written something, the stream is resharded and more arrives
        deadline = time.monotonic() + 15
        while not harness.lake_ids() and time.monotonic() < deadline:
            time.sleep(0.2)
        shards = kinesis.list_shards(StreamName=harness.stream)["Shards"]
        if reshard == "split":
            end = int(shards[0]["HashKeyRange"]["EndingHashKey"])
            kinesis.split_shard(
                StreamName=harness.stream,
                ShardToSplit=shards[0]["ShardId"],
                NewStartingHashKey=str(end // 2),
            )
        else:
            kinesis.merge_shards(
                StreamName=harness.stream,
                ShardToMerge=shards[0]["ShardId"],
                AdjacentShardToMerge=shards[1]["ShardId"],
            )
        harness.put([reading(i) for i in range(300, 600)])
        deadline = time.monotonic() + 15
        while len(harness.lake_ids()) < 600 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        service.stop.set()
        runner.join()
        service.close()

    # THEN every record is there once, and each key's sequence numbers only grow when
    # objects are read parents first (shard ids grow with each reshard)
    _assert_exactly_once(harness, 600)
    last: dict[str, int] = {}
    for row in harness.lake_rows():
        assert row["seq"] > last.get(row["key"], -1), row
        last[row["key"]] = row["seq"]
    new = {s["ShardId"] for s in kinesis.list_shards(StreamName=harness.stream)["Shards"]} - {
        s["ShardId"] for s in shards
    }
    assert new and all(harness.lake_rows_by_shard().get(shard) for shard in new)
