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

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import orjson

from consumer.sources.objects import ObjectReader

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
