"""The SQS source against the emulator over HTTP."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.errors import SinkError
from consumer.flow import Cut
from tests.faults import FaultyClient
from tests.integration.sqs_harness import POISON_TEXT, SqsHarness, body, sqs_reader

pytestmark = pytest.mark.integration


def test_messages_are_written_then_deleted(aws: AwsClients, unique: str, tmp_path: Path) -> None:
    # GIVEN 60 messages, one of them a schema violation
    harness = SqsHarness.create_sqs(aws, unique, tmp_path)
    bad = orjson.dumps({"type": "reading", "id": "bad", "key": "k", "seq": -1, "value": 0})
    harness.send([body(i) for i in range(59)] + [bad.decode()])

    # WHEN consumed until idle
    service = harness.run()

    # THEN every good one is in the lake and the db once, the bad one quarantined, and the
    # queue is empty
    lake = harness.lake_ids()
    assert set(lake) == {f"r{i}" for i in range(59)} and max(lake.values()) == 1
    assert len(harness.db_ids()) == 59
    assert [row["stage"] for row in harness.quarantine_rows()] == ["validate"]
    assert harness.count(harness.source.queue) == 0
    assert service.stats.records_in == 60


def test_heartbeat_keeps_slow_messages_hidden_and_redelivery_has_no_second_effect(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a 5 s visibility, a 1 s heartbeat, and flushes only every 8 s
    harness = SqsHarness.create_sqs(
        aws, unique, tmp_path, visibility_timeout_s=5, heartbeat_interval_s=1.0, idle_flush_s=9
    )
    harness.config = harness.config.model_copy(
        update={"buffer": harness.config.buffer.model_copy(update={"max_age_s": 8.0})}
    )
    harness.send([body(i) for i in range(20)])

    # WHEN consumed
    service = harness.run()
    reader = sqs_reader(service)

    # THEN nothing was redelivered while held, and all was written once
    assert reader.redelivered_while_buffered == 0 and service.stats.records_in == 20
    assert len(harness.lake_ids()) == 20

    # GIVEN the same, but with the heartbeat effectively dead
    harness.send([body(i) for i in range(20, 30)])
    harness.config = harness.config.model_copy(
        update={"source": harness.source.model_copy(update={"heartbeat_interval_s": 4.9})}
    )
    dead = harness.service()
    sqs_reader(dead).config = sqs_reader(dead).config.model_copy(
        update={"heartbeat_interval_s": 4.9, "max_in_flight_s": 10}
    )
    # max_in_flight_s=10 is the floor, so stop the heartbeat by giving it nothing to extend:
    sqs_reader(dead).inflight.handles = lambda younger_than_s=None: []  # type: ignore[method-assign]
    dead.run(until_idle=True, max_runtime_s=60)
    dead.close()

    # THEN messages were redelivered while buffered, and the lake and db still hold each once
    assert sqs_reader(dead).redelivered_while_buffered > 0
    lake = harness.lake_ids()
    assert len(lake) == 30 and max(lake.values()) == 1
    assert len(harness.db_ids()) == 30
    assert harness.count(harness.source.queue) == 0


def test_a_poison_message_reaches_the_dlq_with_its_reason_and_the_rest_are_deleted(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 10 messages, one of which always fails its transform
    harness = SqsHarness.create_sqs(aws, unique, tmp_path)
    harness.send([body(i) for i in range(9)] + [body(99, key=POISON_TEXT)])

    # WHEN consumed (max receive count 3, backoff 1 s then 2 s)
    service = harness.run(max_runtime_s=90)
    reader = sqs_reader(service)

    # THEN the nine are written and deleted; the poison one went to the DLQ on its third
    # receive, after two retries, carrying the reason
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(9)}
    assert reader.retried == 2 and reader.moved_to_dlq == 1
    assert harness.count(harness.source.queue) == 0
    [dead] = harness.dlq_messages()
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["sluice.stage"] == "transform"
    assert attributes["sluice.error_type"] == "FlakyError"
    assert attributes["sluice.receive_count"] == "3"
    assert orjson.loads(dead["Body"])["id"] == "r99"


def test_a_sink_failure_deletes_none_of_its_messages(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a lake sink that keeps failing and a small retry budget
    harness = SqsHarness.create_sqs(aws, unique, tmp_path)
    harness.config = harness.config.model_copy(
        update={
            "retry": harness.config.retry.model_copy(
                update={"max_attempts": 2, "base_delay_s": 0.01}
            )
        }
    )
    harness.send([body(i) for i in range(25)])
    service = harness.service()
    lake = service.sinks["lake"]
    faulty = FaultyClient(lake.client)  # type: ignore[attr-defined]
    faulty.faults["put_object"] = lambda n: "ServiceUnavailable"
    lake.client = faulty  # type: ignore[attr-defined]

    # WHEN consumed
    with pytest.raises(SinkError):
        service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN every message is still in the queue, released for redelivery
    assert harness.count(harness.source.queue) == 25
    assert harness.run().stats.records_in == 25
    assert len(harness.lake_ids()) == 25


def test_fifo_failure_in_one_group_holds_that_group_only(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN group A with a poison message in the middle, and group B
    harness = SqsHarness.create_sqs(aws, unique, tmp_path, fifo=True, max_receive_count=2)
    harness.send([body(1), body(2, key=POISON_TEXT), body(3)], group="A")
    harness.send([body(10 + i) for i in range(5)], group="B")
    order: list[str] = []
    service = harness.service()
    inner = service.flusher.write

    def recording(cut: Cut) -> int:
        retried = inner(cut)
        order.extend(
            str(row["id"])
            for batch in cut.batches
            if batch.route == "readings"
            for row in batch.rows
        )
        return retried

    service.flusher.write = recording  # type: ignore[method-assign]

    # WHEN consumed
    service.run(until_idle=True, max_runtime_s=90)
    service.close()

    # THEN group B completed in order, and A's third message was processed only after the
    # poison one left for the DLQ
    b_ids = [i for i in order if i in {f"r{10 + k}" for k in range(5)}]
    assert b_ids == [f"r{10 + k}" for k in range(5)]
    assert order.index("r1") < order.index("r3")
    assert "r2" not in order and sqs_reader(service).moved_to_dlq == 1
    assert harness.count(harness.source.queue) == 0


def test_s3_event_for_a_gzip_json_lines_object_and_a_gzip_bomb(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN an object of 40 JSON lines (gzip) and a gzip bomb, each announced by an S3 event
    harness = SqsHarness.create_sqs(aws, unique, tmp_path)
    s3 = aws.client("s3")
    bucket = f"lake-{unique}"
    lines = "\n".join(body(i) for i in range(40)).encode()
    s3.put_object(Bucket=bucket, Key="in/part-1.jsonl.gz", Body=gzip.compress(lines))
    s3.put_object(Bucket=bucket, Key="in/bomb.jsonl.gz", Body=gzip.compress(b"\n" * 50_000_000))

    def event(key: str) -> str:
        return orjson.dumps(
            {
                "Records": [
                    {
                        "eventSource": "aws:s3",
                        "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
                    }
                ]
            }
        ).decode()

    harness.send([event("in/part-1.jsonl.gz"), event("in/bomb.jsonl.gz")])

    # WHEN consumed
    harness.run()

    # THEN the 40 records are written and the bomb is quarantined, not inflated
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(40)}
    [envelope] = harness.quarantine_rows()
    assert (envelope["stage"], envelope["error_type"]) == ("decode", "InflateLimitExceeded")
    assert harness.count(harness.source.queue) == 0


def test_stop_releases_unfinished_messages_at_once(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a long visibility and buffers that would hold records for a minute
    harness = SqsHarness.create_sqs(aws, unique, tmp_path, visibility_timeout_s=300)
    harness.config = harness.config.model_copy(
        update={"buffer": harness.config.buffer.model_copy(update={"max_age_s": 60.0})}
    )
    harness.send([body(i) for i in range(15)])
    service = harness.service()

    # WHEN asked to stop after 3 s
    timer = threading.Timer(3.0, service.stop.set)
    timer.start()
    service.run(max_runtime_s=30)
    service.close()

    # THEN what was buffered was flushed and deleted, and nothing is left hidden
    assert len(harness.lake_ids()) == 15
    assert harness.count(harness.source.queue) == 0


def test_a_body_that_is_not_json_is_quarantined_and_deleted(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN good messages and two bodies that are not JSON
    harness = SqsHarness.create_sqs(aws, unique, tmp_path)
    harness.send([body(i) for i in range(5)] + ["hello, I am not JSON", '{"type": "reading",'])

    # WHEN consumed
    harness.run(max_runtime_s=60)

    # THEN the good ones are written, the bad ones quarantined with their reason, and the
    # queue is empty: nothing waits for a retry that cannot help
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(5)}
    reasons = [(row["stage"], row["error_type"]) for row in harness.quarantine_rows()]
    assert reasons == [("decode", "InvalidJson")] * 2
    assert harness.count(harness.source.queue) == 0
