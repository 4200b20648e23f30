"""Kinesis behaviours sluice and the KCL rely on, which LocalStack's engine (kinesis-local)
has as AWS does and moto does not (docs/decisions.md, "LocalStack without Docker"): if
LocalStack changes them, the LocalStack tier stops being worth more than moto's."""

from __future__ import annotations

import pytest

from consumer.aws.clients import AwsClients
from consumer.flow import Position
from consumer.sources.kinesis.checkpoints import decode_position, encode_position

pytestmark = pytest.mark.localstack


def test_list_shards_honours_the_shard_filter_after_a_split(aws: AwsClients, unique: str) -> None:
    # GIVEN a two-shard stream whose first shard was split
    kinesis = aws.client("kinesis")
    stream = f"filter-{unique}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    first, second = kinesis.list_shards(StreamName=stream)["Shards"]
    end = int(first["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(
        StreamName=stream, ShardToSplit=first["ShardId"], NewStartingHashKey=str(end // 2)
    )
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)

    def listed(**shard_filter: str) -> set[str]:
        shards = kinesis.list_shards(StreamName=stream, ShardFilter=shard_filter)["Shards"]
        return {shard["ShardId"] for shard in shards}

    every = {shard["ShardId"] for shard in kinesis.list_shards(StreamName=stream)["Shards"]}
    children = every - {first["ShardId"], second["ShardId"]}

    # THEN (moto returns every shard for each of these)
    assert len(children) == 2
    assert listed(Type="AT_LATEST") == children | {second["ShardId"]}
    assert listed(Type="AFTER_SHARD_ID", ShardId=first["ShardId"]) == every - {first["ShardId"]}
    assert listed(Type="FROM_TRIM_HORIZON") == every


def test_sequence_numbers_are_as_wide_as_aws_ones_and_round_trip(
    aws: AwsClients, unique: str
) -> None:
    kinesis = aws.client("kinesis")
    stream = f"seq-{unique}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    sequences = [
        kinesis.put_record(StreamName=stream, Data=b"{}", PartitionKey="k")["SequenceNumber"]
        for _ in range(3)
    ]
    # AWS: 56 digits (moto: small integers), growing within a shard
    assert all(len(sequence) == 56 for sequence in sequences)
    positions = [Position(int(sequence)) for sequence in sequences]
    assert positions == sorted(positions)
    assert [decode_position(encode_position(p)) for p in positions] == positions


def test_get_records_refuses_a_limit_above_ten_thousand(aws: AwsClients, unique: str) -> None:
    kinesis = aws.client("kinesis")
    stream = f"limit-{unique}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.get_records(ShardIterator=iterator, Limit=10_001)
