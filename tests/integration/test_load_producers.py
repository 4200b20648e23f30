"""The load producers against the emulator: they send what the profile asks, and report it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.capacity.load_profiles import LoadProfile
from consumer.sources.kinesis import kpl
from load_tests.producers import Events, Sent, kinesis_sender, pace, sqs_sender

pytestmark = pytest.mark.integration


def _stream_bodies(client: Any, stream: str) -> list[dict[str, Any]]:
    bodies = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        response = client.get_records(ShardIterator=iterator, Limit=10_000)
        for record in response["Records"]:
            users = kpl.deaggregate(record["Data"]) if kpl.is_aggregated(record["Data"]) else []
            datas = [user.data for user in users] or [record["Data"]]
            bodies += [orjson.loads(data) for data in datas]
    return bodies


def test_kinesis_producer_step_profile_with_kpl_aggregation_and_skewed_keys(
    aws: AwsClients, unique: str
) -> None:
    # GIVEN a two-shard stream and a 2 s step profile (50/s, then 200/s after 1 s)
    client = aws.client("kinesis")
    stream = f"load-{unique}"
    client.create_stream(StreamName=stream, ShardCount=2)
    client.get_waiter("stream_exists").wait(StreamName=stream)
    profile = LoadProfile(shape="step", rate=50, factor=4, at_s=1, hold_s=5, duration_s=2)

    # WHEN it is produced in KPL aggregates of 10, 80 % on one hot key
    sent = pace(
        profile,
        kinesis_sender(client, stream, aggregate=10),
        Sent("kinesis", "step"),
        Events(keys=8, skew="skewed", hot_share=0.8),
    )

    # THEN the stream holds exactly the reported records, step-shaped and skewed
    bodies = _stream_bodies(client, stream)
    assert 230 <= sent.records <= 260, sent.summary()
    assert sorted(b["id"] for b in bodies) == sorted(sent.ids)
    assert sum(sent.per_second[1:]) > 3 * sent.per_second[0]
    keys = Counter(b["key"] for b in bodies)
    assert keys["k0"] / len(bodies) > 0.7


def test_sqs_producer_bounded_by_count(aws: AwsClients, unique: str) -> None:
    # GIVEN a queue and a steady 200/s profile of 10 s, bounded at 120 records
    client = aws.client("sqs")
    url = client.create_queue(QueueName=f"load-{unique}")["QueueUrl"]
    profile = LoadProfile(rate=200, duration_s=10)

    # WHEN it is produced with SendMessageBatch
    sent = pace(profile, sqs_sender(client, url), Sent("sqs", "steady"), Events(), 120)

    # THEN it stopped at 120 well before 10 s, in batches of at most 10
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert sent.records == 120 and int(attributes["ApproximateNumberOfMessages"]) == 120
    assert sent.requests >= 12 and sent.elapsed_s < 5
