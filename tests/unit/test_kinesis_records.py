"""GetRecords entries become sluice records; aggregates become their user records."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from consumer.flow import Position
from consumer.sources.kinesis import kpl
from consumer.sources.kinesis.records import to_records

AT = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def _entry(sequence: int, data: bytes, key: str = "pk") -> dict[str, Any]:
    return {
        "SequenceNumber": str(sequence),
        "ApproximateArrivalTimestamp": AT,
        "Data": data,
        "PartitionKey": key,
    }


def test_plain_and_aggregated_entries() -> None:
    # GIVEN a plain entry and an aggregate of three user records
    blob = kpl.aggregate([("a", b"1"), ("b", b"2"), ("a", b"3")])
    entries = [_entry(7, b'{"x": 1}'), _entry(9, blob, key="a")]

    # WHEN converted
    out = list(to_records("s", "shardId-0", entries))

    # THEN positions carry the sub-sequence index and each user record its own key
    assert [(r.position, r.partition_key, r.data, e) for r, e in out] == [
        (Position(7), "pk", b'{"x": 1}', None),
        (Position(9, 0), "a", b"1", None),
        (Position(9, 1), "b", b"2", None),
        (Position(9, 2), "a", b"3", None),
    ]
    assert all(r.arrival_time == AT.timestamp() and r.source == "s" for r, _ in out)


def test_malformed_aggregate_with_valid_digest_is_a_decode_error() -> None:
    # GIVEN the KPL magic, a body that is not a valid message, and its correct digest
    body = b"\x1a\xff"
    blob = kpl.MAGIC + body + hashlib.md5(body, usedforsecurity=False).digest()

    # WHEN converted
    [(record, error)] = list(to_records("s", "shardId-0", [_entry(3, blob)]))

    # THEN it is one record, with its original bytes, bound for the quarantine
    assert record.data == blob and record.position == Position(3)
    assert error is not None
    assert (error.stage, error.error_type) == ("decode", "InvalidKplAggregate")


def test_magic_with_wrong_digest_is_a_plain_record() -> None:
    blob = kpl.MAGIC + b"\x00" * 20
    [(record, error)] = list(to_records("s", "shardId-0", [_entry(4, blob)]))
    assert error is None and record.data == blob
