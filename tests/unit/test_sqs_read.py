"""What the SQS source makes of one read, without a network: a message received twice
before it was taken (its visibility lapsed while it waited in the inbox) is one unit."""

from __future__ import annotations

from typing import Any

from consumer.pipeline.decode import DecodeConfig
from consumer.sources.objects import ObjectReader
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.reader import SqsSource


def _message(message_id: str, handle: str) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": handle,
        "Body": '{"type": "reading"}',
        "Attributes": {"SentTimestamp": "1765000000000", "ApproximateReceiveCount": "1"},
    }


def test_a_message_received_twice_in_one_read_is_taken_once_with_its_newest_handle() -> None:
    # GIVEN two receives that both returned m1 (the first copy's visibility lapsed while it
    # waited), as two receivers put them in the inbox
    config = SqsSourceConfig(queue="q", exactly_once=False)
    source = SqsSource(config, client=None, objects=ObjectReader(None, DecodeConfig(), 1 << 20))
    first, again = _message("m1", "h-old"), _message("m1", "h-new")
    for message in (first, _message("m2", "h2"), again):
        source.inflight.add(message["ReceiptHandle"], message["MessageId"])
    source.receivers.inbox.put([first, _message("m2", "h2")])
    source.receivers.inbox.put([again])

    # WHEN the engine reads
    units = list(source.read())

    # THEN m1 is one unit, held by its newest receipt handle; the stale one is not in flight
    assert [unit.token["MessageId"] for unit in units] == ["m1", "m2"]
    assert source._buffered == {"m1": "h-new", "m2": "h2"}
    assert sorted(source.inflight.handles()) == ["h-new", "h2"]
