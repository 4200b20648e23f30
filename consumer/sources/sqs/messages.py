"""The shapes an SQS message arrives in, unwrapped to the payloads the pipeline decodes.

- a plain body (JSON, or gzip base64 is not assumed: bytes as sent);
- an SNS notification (`{"Type": "Notification", "Message": ...}`), unwrapped first;
- an S3 event notification: every object it names is read as a stream and split into
  JSON Lines (gzip inflated under the decoder's caps, objects over `max_object_bytes`
  refused);
- an SQS extended-client pointer (`["software.amazon.payloadoffloading.PayloadS3Pointer",
  {"s3BucketName": ..., "s3Key": ...}]`): the payload is the named object.

Each payload keeps its line number within the message, which becomes the record's
sub-position. An object that cannot be read is a `RecordError` for the quarantine.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import orjson

from consumer.errors import RecordError
from consumer.flow import Position, Record
from consumer.sources.base import Unit
from consumer.sources.objects import ObjectReader

Message = dict[str, Any]
"""An SQS message as boto3 returns it."""

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def unwrap_sns(body: bytes) -> bytes:
    value = _json(body)
    if isinstance(value, dict) and value.get("Type") == "Notification" and "Message" in value:
        message = value["Message"]
        return message.encode() if isinstance(message, str) else orjson.dumps(message)
    return body


def s3_objects(value: Any) -> list[tuple[str, str]] | None:
    """(bucket, key) pairs named by an S3 event notification, or None if it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("Records"), list):
        return None
    named = []
    for entry in value["Records"]:
        if not (isinstance(entry, dict) and entry.get("eventSource") == "aws:s3"):
            return None
        if not str(entry.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = entry.get("s3", {})
        named.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    return named


def pointer(value: Any) -> tuple[str, str] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == POINTER_CLASS
        and isinstance(value[1], dict)
    ):
        return value[1]["s3BucketName"], value[1]["s3Key"]
    return None


def payloads(body: bytes, objects: ObjectReader) -> Iterator[bytes]:
    """The payloads of one message body, in order."""
    body = unwrap_sns(body)
    value = _json(body)
    named = s3_objects(value)
    if named is not None:
        for bucket, key in named:
            yield from objects.lines(bucket, key)
        return
    target = pointer(value)
    if target is not None:
        yield objects.read(*target)
        return
    yield body


def message_position(message_id: str) -> int:
    """A stable number for a message id (UUIDs as their 128-bit value)."""
    try:
        return uuid.UUID(message_id).int
    except ValueError:
        return int.from_bytes(hashlib.sha1(message_id.encode(), usedforsecurity=False).digest())


def message_unit(message: Message, name: str, partition: str, objects: ObjectReader) -> Unit:
    """The message's payloads as records (one per JSON line of an S3 object, say); a
    message without payloads is still a unit, so that its delete rides a flush."""
    base = message_position(message["MessageId"])
    sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
    attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
    body = message["Body"].encode()
    attributes = {
        name: value["StringValue"]
        for name, value in message.get("MessageAttributes", {}).items()
        if "StringValue" in value
    }

    def record(line: int, data: bytes) -> Record:
        position = Position(base, line)
        return Record(
            name,
            name,
            position,
            message["MessageId"],
            sent,
            data,
            attributes,
            attempt=attempt,
        )

    try:
        found = list(payloads(body, objects))
    except RecordError as error:
        return Unit(partition, [record(0, body)], {0: error}, atomic=True, token=message)
    records = [record(line, data) for line, data in enumerate(found)]
    empty = Position(base, 0) if not records else None
    return Unit(
        partition,
        records,
        position=empty,
        arrival_time=sent or None,
        atomic=True,
        token=message,
    )
