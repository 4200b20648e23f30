"""Look into a dead-letter queue, and move its messages back after a fix.

`inspect` shows each message with the reason sluice attached when it moved it there
(`sluice.stage`, `sluice.error_type`, `sluice.message`, `sluice.receive_count`) and its
message id in the source queue (`sluice.message_id`: the DLQ's copy has its own); messages
that SQS moved by its redrive policy show no reason. Inspected messages are made visible
again before returning. `redrive` sends each message back to its source queue (the
`sluice.source_queue` attribute, or `--to`) without sluice's attributes, and deletes it
from the DLQ only after the send succeeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from consumer.sources.sqs import queues
from consumer.sources.sqs.inflight import change_visibility

PREFIX = "sluice."


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    body: str
    reason: dict[str, str]
    attributes: dict[str, Any]
    group: str | None
    receipt_handle: str


def _letters(client: Any, url: str, limit: int, hold_s: int) -> Iterator[DeadLetter]:
    seen: set[str] = set()
    while len(seen) < limit:
        messages = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            WaitTimeSeconds=1,
            VisibilityTimeout=hold_s,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return
        for m in fresh:
            seen.add(m["MessageId"])
            attributes = m.get("MessageAttributes", {})
            reason = {
                k[len(PREFIX) :]: v.get("StringValue", "")
                for k, v in attributes.items()
                if k.startswith(PREFIX)
            }
            own = {k: v for k, v in attributes.items() if not k.startswith(PREFIX)}
            group = m.get("Attributes", {}).get("MessageGroupId")
            yield DeadLetter(m["MessageId"], m["Body"], reason, own, group, m["ReceiptHandle"])


def inspect(client: Any, dlq: str, limit: int = 100) -> list[DeadLetter]:
    url = queues.queue_url(client, dlq)
    letters = list(_letters(client, url, limit, hold_s=60))
    change_visibility(client, url, [letter.receipt_handle for letter in letters], 0)
    return letters


def redrive(client: Any, dlq: str, to: str | None = None, limit: int = 1000) -> int:
    """Move up to `limit` messages back; returns how many were moved."""
    url = queues.queue_url(client, dlq)
    moved = 0
    for letter in _letters(client, url, limit, hold_s=300):
        target = to or letter.reason.get("source_queue")
        if not target:
            change_visibility(client, url, [letter.receipt_handle], 0)
            raise ValueError(f"message {letter.message_id} names no source queue: use --to")
        kwargs: dict[str, Any] = {
            "QueueUrl": queues.queue_url(client, target),
            "MessageBody": letter.body,
        }
        if letter.attributes:
            kwargs["MessageAttributes"] = letter.attributes
        if target.endswith(".fifo"):
            kwargs |= {
                "MessageGroupId": letter.group or "sluice",
                "MessageDeduplicationId": f"redrive-{letter.message_id}",
            }
        client.send_message(**kwargs)
        queues.delete(client, url, [letter.receipt_handle])
        moved += 1
    return moved


def render(letters: list[DeadLetter]) -> str:
    lines = [f"{len(letters)} message(s)"]
    for letter in letters:
        why = (
            f"{letter.reason.get('stage', '?')}/{letter.reason.get('error_type', '?')}: "
            f"{letter.reason.get('message', '')}"
            if letter.reason
            else "no reason recorded (moved by the queue's redrive policy)"
        )
        source_id = letter.reason.get("message_id")
        ids = (  # sluice's copy has an id of its own; SQS's redrive keeps the source's
            f"{source_id} (in the DLQ: {letter.message_id})" if source_id else letter.message_id
        )
        lines.append(
            f"- {ids} receives={letter.reason.get('receive_count', '?')} "
            f"from={letter.reason.get('source_queue', '?')}\n    {why}\n"
            f"    body: {letter.body[:200]}"
        )
    return "\n".join(lines)
