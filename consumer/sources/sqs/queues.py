"""Queue look-ups and the message operations the reader needs, batched by ten."""

from __future__ import annotations

from typing import Any

import orjson

from consumer.sources.sqs.inflight import CHUNK


def queue_url(client: Any, queue: str) -> str:
    if queue.startswith(("https://", "http://")):
        return queue
    url: str = client.get_queue_url(QueueName=queue)["QueueUrl"]
    return url


def max_receive_count(client: Any, url: str) -> int | None:
    """The queue's redrive `maxReceiveCount`, or None when it has no DLQ configured."""
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    return int(orjson.loads(policy)["maxReceiveCount"]) if policy else None


def retention_s(client: Any, url: str) -> int:
    """How long the queue keeps a message (MessageRetentionPeriod; SQS's default 4 days)."""
    found = client.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
    return int(found.get("Attributes", {}).get("MessageRetentionPeriod", 345_600))


def delete(client: Any, url: str, handles: list[str]) -> list[str]:
    """Delete messages; returns the receipt handles SQS did not delete."""
    failed: list[str] = []
    for start in range(0, len(handles), CHUNK):
        chunk = handles[start : start + CHUNK]
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
        response = client.delete_message_batch(QueueUrl=url, Entries=entries)
        failed += [chunk[int(f["Id"])] for f in response.get("Failed", [])]
    return failed


def send_to_dlq(
    client: Any, dlq_url: str, message: dict[str, Any], reason: dict[str, str], fifo: bool
) -> None:
    """Copy `message` to the DLQ with the failure reason as message attributes, and its
    own message id (`sluice.message_id`): the copy gets a new one from SQS."""
    reason = {**reason, "message_id": message["MessageId"]}
    attributes = {
        **message.get("MessageAttributes", {}),
        **{
            f"sluice.{k}": {"DataType": "String", "StringValue": v[:1024] or "-"}
            for k, v in reason.items()
        },
    }
    kwargs: dict[str, Any] = {
        "QueueUrl": dlq_url,
        "MessageBody": message["Body"],
        "MessageAttributes": dict(list(attributes.items())[:10]),
    }
    if fifo:
        system = message.get("Attributes", {})
        kwargs["MessageGroupId"] = system.get("MessageGroupId", "sluice")
        kwargs["MessageDeduplicationId"] = message["MessageId"]
    client.send_message(**kwargs)
