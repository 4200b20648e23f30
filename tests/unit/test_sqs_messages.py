"""The shapes an SQS body arrives in, unwrapped to payloads."""

from __future__ import annotations

import gzip
import io
from typing import Any

import orjson
import pytest

from consumer.errors import RecordError
from consumer.pipeline.decode import DecodeConfig
from consumer.sources.objects import ObjectReader
from consumer.sources.sqs.messages import POINTER_CLASS, payloads


class FakeS3:
    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        data = self.objects[(Bucket, Key)]
        return {"ContentLength": len(data), "Body": io.BytesIO(data)}


def _reader(
    objects: dict[tuple[str, str], bytes], max_object_bytes: int = 10**6, **limits: Any
) -> ObjectReader:
    return ObjectReader(FakeS3(objects), DecodeConfig(**limits), max_object_bytes)


def _event(*keys: str, name: str = "ObjectCreated:Put") -> bytes:
    return orjson.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": name,
                    "s3": {"bucket": {"name": "b"}, "object": {"key": key}},
                }
                for key in keys
            ]
        }
    )


def test_plain_body_is_the_payload() -> None:
    assert list(payloads(b'{"a": 1}', _reader({}))) == [b'{"a": 1}']


def test_sns_notification_is_unwrapped() -> None:
    body = orjson.dumps({"Type": "Notification", "Message": '{"a": 1}', "TopicArn": "t"})
    assert list(payloads(body, _reader({}))) == [b'{"a": 1}']


def test_s3_event_names_objects_read_as_json_lines_with_url_decoded_keys() -> None:
    objects = {
        ("b", "in/day 1.jsonl"): b'{"n": 1}\n\n{"n": 2}\n',
        ("b", "in/x.jsonl.gz"): gzip.compress(b'{"n": 3}\n'),
    }
    found = list(payloads(_event("in/day+1.jsonl", "in/x.jsonl.gz"), _reader(objects)))
    assert found == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']


def test_s3_event_inside_sns_and_removals_are_ignored() -> None:
    inner = _event("gone.jsonl", name="ObjectRemoved:Delete").decode()
    body = orjson.dumps({"Type": "Notification", "Message": inner})
    assert list(payloads(body, _reader({}))) == []


def test_extended_client_pointer_reads_the_payload_from_s3() -> None:
    body = orjson.dumps([POINTER_CLASS, {"s3BucketName": "b", "s3Key": "big"}])
    assert list(payloads(body, _reader({("b", "big"): b'{"big": true}'}))) == [b'{"big": true}']


def test_gzip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = gzip.compress(b"\n" * 20_000_000)
    with pytest.raises(RecordError) as info:
        list(
            payloads(
                _event("bomb.gz"), _reader({("b", "bomb.gz"): bomb}, max_inflated_bytes=1_000_000)
            )
        )
    assert (info.value.stage, info.value.error_type) == ("decode", "InflateLimitExceeded")


def test_objects_over_the_size_limit_are_refused() -> None:
    with pytest.raises(RecordError) as info:
        list(payloads(_event("big"), _reader({("b", "big"): b"x" * 100}, max_object_bytes=10)))
    assert info.value.error_type == "ObjectTooLarge"


def test_missing_object_is_an_unreadable_object_error() -> None:
    with pytest.raises(RecordError) as info:
        list(payloads(_event("missing"), _reader({})))
    assert info.value.error_type == "ObjectUnreadable"


@pytest.mark.parametrize(
    ("blob", "detail"),
    [(gzip.compress(b'{"n": 1}\n' * 50)[:-9], "truncated"), (b"\x1f\x8b" + b"\x00" * 40, "")],
)
def test_truncated_or_corrupt_gzip_objects_are_invalid(blob: bytes, detail: str) -> None:
    with pytest.raises(RecordError) as info:
        list(payloads(_event("bad.gz"), _reader({("b", "bad.gz"): blob})))
    assert info.value.error_type == "InvalidGzip" and detail in info.value.message
